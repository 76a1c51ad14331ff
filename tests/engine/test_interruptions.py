"""Ctrl-C and SIGTERM: one line, exit 130 or 143, a journaled interruption, a resumable ceremony.

The engine's test hook sends the signal to the running `ceremony run` right after a journal line
(CMK_CEREMONY_KILL_AFTER_SEQ=N:SIGTERM), so the interruption lands at a known step of a real
ceremony; the start-up test sends it while the CLI's modules are still loading.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from ceremony.cli import main
from ceremony.engine.ceremony import KILL_HOOK
from tests.conftest import token_labels
from tests.support.journal_forgery import lines_of

KEY_CREATED = 13  # small_plan's key-created line of its first key, before its seal
RESUME = "an interrupted ceremony resumes with `ceremony run --resume DIR`"


def as_from_a_terminal():
    """Run in the child before exec: Ctrl-C handled as at a terminal. A shell without job
    control starts background jobs with SIGINT ignored, and a child inherits that; Python then
    leaves SIGINT ignored (as `nohup` wants), and the signal the test sends would do nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(("name", "code", "line"), [
    ("SIGTERM", 143, f"ceremony: terminated (SIGTERM); {RESUME}"),
    ("SIGINT", 130, f"ceremony: interrupted; {RESUME}"),
])
def test_a_signal_mid_ceremony_is_journaled_and_resumable(setup, token_store, name, code, line):
    plan, directory, env = setup
    stopped = subprocess.run(
        [sys.executable, "-m", "ceremony", "run", str(plan), "--yes"],
        env={**env, KILL_HOOK: f"{KEY_CREATED}:{name}"}, capture_output=True, text=True,
        timeout=60, preexec_fn=as_from_a_terminal)
    assert stopped.returncode == code
    assert stopped.stderr.splitlines()[-1] == line
    assert "Traceback" not in stopped.stderr
    last = lines_of(directory)[-1]
    assert (last["seq"], last["type"]) == (KEY_CREATED + 1, "interrupted")
    assert last["data"]["cause"] == name
    assert last["data"]["step"] == "creating key services"
    # The token lock was released and the ceremony resumes to a verified record.
    assert main(["run", "--resume", str(directory), "--yes"], env=env) == 0
    assert main(["verify", str(directory), "--unpinned"]) == 0
    assert token_labels(token_store) == ["cmk-ceremony-signer", "cmk-services"]


@pytest.mark.parametrize(("sent", "code", "line"), [
    (signal.SIGINT, 130, f"ceremony: interrupted; {RESUME}"),
    (signal.SIGTERM, 143, f"ceremony: terminated (SIGTERM); {RESUME}"),
])
def test_a_signal_while_the_cli_loads_is_one_line(tmp_path, sent, code, line):
    """-X importtime prints each module as it finishes loading: the signal is sent once the
    first module only the CLI imports (ceremony.commands, an empty package) is loaded, so the
    entry point's handlers are in place, and while the command modules are still loading."""
    child = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "ceremony", "plan", "check",
         str(tmp_path / "plan.toml")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=as_from_a_terminal)
    for row in child.stderr:
        if row.rsplit("|", 1)[-1].strip() == "ceremony.commands":
            child.send_signal(sent)
            break
    _, rest = child.communicate(timeout=60)
    assert child.returncode == code
    assert rest.splitlines()[-1] == line
    assert "Traceback" not in rest


def test_an_interruption_before_the_signer_is_resumable(setup, token_store):
    plan, directory, env = setup
    stopped = subprocess.run(
        [sys.executable, "-m", "ceremony", "run", str(plan), "--yes"],
        env={**env, KILL_HOOK: "3:SIGTERM"}, capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 143
    types = [line["type"] for line in lines_of(directory)]
    assert types == ["ceremony-started", "kek-confirmed", "token-selected", "interrupted"]
    assert json.loads(json.dumps(lines_of(directory)[-1]["data"]))["step"] == (
        "staging trusted wrapping with the SO PIN")
    assert main(["run", "--resume", str(directory), "--yes"], env=env) == 0
