"""A ceremony killed at any journal step resumes to a record that verifies, with no stray key.

The engine's kill hook (CMK_CEREMONY_KILL_AFTER_SEQ) SIGKILLs the process right after journal
line N is on disk: the harshest crash, no cleanup at all. Then `ceremony run --resume DIR`
finishes the ceremony, `ceremony verify` accepts it, and the token holds exactly the keys the
plan keeps, plus the signer.
"""

import json
import subprocess
import sys

import pytest

from ceremony.cli import main
from ceremony.engine import KILL_HOOK
from tests.conftest import PIN_ENV, token_labels
from tests.support.rehearsal import make_vault, small_plan

FULL_RUN_LINES = 25  # journal lines of an uninterrupted small_plan ceremony


def _cli(env, *args):
    return subprocess.run([sys.executable, "-m", "ceremony", *args], env=env,
                          capture_output=True, text=True)


@pytest.fixture
def setup(token_store, tmp_path):
    vault, kek = make_vault(token_store)
    vault.service.close()
    plan = small_plan(tmp_path / "plan", kek)
    return plan, tmp_path / "plan" / "out" / "small", {**token_store.env, **PIN_ENV}


def test_an_uninterrupted_run_has_the_expected_number_of_lines(setup):
    plan, directory, env = setup
    assert _cli(env, "run", str(plan), "--yes").returncode == 0
    lines = (directory / "journal.jsonl").read_text().splitlines()
    assert len(lines) == FULL_RUN_LINES
    assert json.loads(lines[-1])["type"] == "ceremony-completed"


@pytest.mark.parametrize("seq", range(1, FULL_RUN_LINES))
def test_killed_after_each_journal_line_resumes_to_a_verified_record(
    setup, token_store, seq, capsys,
):
    plan, directory, env = setup
    killed = _cli({**env, KILL_HOOK: str(seq)}, "run", str(plan), "--yes")
    assert killed.returncode == -9, killed.stderr
    assert len((directory / "journal.jsonl").read_text().splitlines()) == seq
    resumed = _cli(env, "run", "--resume", str(directory), "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert main(["verify", str(directory), "--unpinned"]) == 0
    assert token_labels(token_store) == ["cmk-ceremony-signer", "cmk-services"]
    record = json.loads((directory / "record.json").read_bytes())
    assert [k["destroyed"] for k in record["keys"]] == [False, True]
    assert record["signer"]["created_in_this_ceremony"] is True
    types = [json.loads(line)["type"] for line in
             (directory / "journal.jsonl").read_text().splitlines()]
    assert types.count("resumed") == 1 and types[-1] == "ceremony-completed"
    assert types.count("key-created") == 2


def test_abort_destroys_the_keys_the_ceremony_created(setup, token_store, capsys):
    plan, directory, env = setup
    killed = _cli({**env, KILL_HOOK: "15"}, "run", str(plan), "--yes")  # both keys created
    assert killed.returncode == -9
    assert token_labels(token_store) == ["cmk-ceremony-signer", "cmk-disks", "cmk-services"]
    assert main(["abort", str(directory), "--yes", "--json"], env=env) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"destroyed": 2}
    assert token_labels(token_store) == ["cmk-ceremony-signer"]  # the signer stays
    types = [json.loads(line)["type"] for line in
             (directory / "journal.jsonl").read_text().splitlines()]
    assert types[-3:] == ["ceremony-aborted", "key-destroyed", "key-destroyed"]
    assert main(["run", "--resume", str(directory), "--yes"], env=env) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "ceremony: error: this ceremony was aborted. Start a new ceremony")


def test_a_torn_last_line_is_dropped_and_journaled_on_resume(setup, token_store):
    plan, directory, env = setup
    assert _cli({**env, KILL_HOOK: "10"}, "run", str(plan), "--yes").returncode == -9
    with open(directory / "journal.jsonl", "ab") as journal:
        journal.write(b'{"data":{"message":"key serv')  # what a crash mid-write leaves
    assert _cli(env, "run", "--resume", str(directory), "--yes").returncode == 0
    lines = [json.loads(line) for line in
             (directory / "journal.jsonl").read_text().splitlines()]
    resumed = next(line for line in lines if line["type"] == "resumed")
    assert resumed["seq"] == 11
    assert resumed["data"]["dropped_torn_line"] == '{"data":{"message":"key serv'
    assert main(["verify", str(directory), "--unpinned"]) == 0
