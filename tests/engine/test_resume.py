"""A ceremony killed at any journal step resumes to a record that verifies, with no stray key.

The engine's kill hook (CMK_CEREMONY_KILL_AFTER_SEQ) SIGKILLs the process right after journal
line N is on disk: the harshest crash, no cleanup at all. Then `ceremony run --resume DIR`
finishes the ceremony, `ceremony verify` accepts it, and the token holds exactly the keys the
plan keeps, plus the signer.
"""

import json

import pytest

from ceremony.cli import main
from ceremony.engine.ceremony import KILL_HOOK
from tests.conftest import token_labels
from tests.support import ceremony_cli

FULL_RUN_LINES = 42  # journal lines of an uninterrupted small_plan ceremony, seals included
BOTH_KEYS_CREATED = 22  # the seal of the second key's key-created line


def journal_types(directory) -> list[str]:
    """The journal's line types, seals left out."""
    lines = (directory / "journal.jsonl").read_text().splitlines()
    return [kind for kind in (json.loads(line)["type"] for line in lines)
            if kind != "journal-sealed"]



def test_an_uninterrupted_run_has_the_expected_number_of_lines(setup):
    plan, directory, env = setup
    assert ceremony_cli(env, "run", str(plan), "--yes").returncode == 0
    lines = (directory / "journal.jsonl").read_text().splitlines()
    assert len(lines) == FULL_RUN_LINES
    assert [json.loads(line)["type"] for line in lines[-2:]] == [
        "ceremony-completed", "journal-sealed"]


@pytest.mark.parametrize("seq", range(1, FULL_RUN_LINES - 1))
def test_killed_after_each_journal_line_resumes_to_a_verified_record(
    setup, token_store, seq, capsys,
):
    plan, directory, env = setup
    killed = ceremony_cli({**env, KILL_HOOK: str(seq)}, "run", str(plan), "--yes")
    assert killed.returncode == -9, killed.stderr
    assert len((directory / "journal.jsonl").read_text().splitlines()) == seq
    resumed = ceremony_cli(env, "run", "--resume", str(directory), "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert main(["verify", str(directory), "--unpinned"]) == 0
    assert token_labels(token_store) == ["cmk-ceremony-signer", "cmk-services"]
    record = json.loads((directory / "record.json").read_bytes())
    assert [k["destroyed"] for k in record["keys"]] == [False, True]
    assert record["signer"]["created_in_this_ceremony"] is True
    types = journal_types(directory)
    assert types.count("resumed") == 1 and types[-1] == "ceremony-completed"
    # A key-created line whose seal the kill cut off is written again: same key, same facts.
    created = {(line["data"]["name"], line["data"]["fingerprint"]) for line in map(
        json.loads, (directory / "journal.jsonl").read_text().splitlines())
        if line["type"] == "key-created"}
    assert sorted(name for name, _ in created) == ["disks", "services"]


def test_killed_before_the_last_seal_the_ceremony_is_complete(setup, capsys):
    """The completed line stops a resume even unsealed: believing it can only do less."""
    plan, directory, env = setup
    assert ceremony_cli({**env, KILL_HOOK: str(FULL_RUN_LINES - 1)}, "run", str(plan),
                "--yes").returncode == -9
    assert main(["run", "--resume", str(directory), "--yes"], env=env) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: ceremony {directory} is already complete. Check it with `ceremony "
        "verify`; there is nothing to resume\n")
    assert main(["verify", str(directory), "--unpinned"]) == 0
    assert capsys.readouterr().err.splitlines()[-3] == (
        f"ceremony: warning: journal line {FULL_RUN_LINES - 1} comes after the last seal: "
        "nothing shows the ceremony's tool wrote it")


def test_abort_destroys_the_keys_the_ceremony_created(setup, token_store, capsys):
    plan, directory, env = setup
    killed = ceremony_cli({**env, KILL_HOOK: str(BOTH_KEYS_CREATED)}, "run", str(plan), "--yes")
    assert killed.returncode == -9
    assert token_labels(token_store) == ["cmk-ceremony-signer", "cmk-disks", "cmk-services"]
    assert main(["abort", str(directory), "--yes", "--json"], env=env) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"destroyed": 2}
    assert token_labels(token_store) == ["cmk-ceremony-signer"]  # the signer stays
    assert journal_types(directory)[-4:] == [
        "ceremony-aborted", "key-destroyed", "key-destroyed", "package-withdrawn"]
    assert sorted(p.name for p in (directory / "keys").iterdir()) == [
        "services.az-import.txt", "services.pub.pem"]  # the package is gone
    assert main(["run", "--resume", str(directory), "--yes"], env=env) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "ceremony: error: this ceremony was aborted. Start a new ceremony")


def test_a_torn_last_line_is_dropped_and_journaled_on_resume(setup, token_store):
    plan, directory, env = setup
    assert ceremony_cli({**env, KILL_HOOK: "11"}, "run", str(plan), "--yes").returncode == -9
    with open(directory / "journal.jsonl", "ab") as journal:
        journal.write(b'{"data":{"message":"key serv')  # what a crash mid-write leaves
    assert ceremony_cli(env, "run", "--resume", str(directory), "--yes").returncode == 0
    lines = [json.loads(line) for line in
             (directory / "journal.jsonl").read_text().splitlines()]
    resumed = next(line for line in lines if line["type"] == "resumed")
    assert resumed["seq"] == 12
    assert resumed["data"]["dropped_torn_line"] == '{"data":{"message":"key serv'
    assert main(["verify", str(directory), "--unpinned"]) == 0
