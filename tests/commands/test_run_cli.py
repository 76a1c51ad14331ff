"""`ceremony run` and `abort`: the bad inputs, each one line with its exit code."""

import subprocess
import sys

import pytest

from ceremony.cli import main
from tests.conftest import PIN_ENV
from tests.support.rehearsal import make_vault, small_plan


@pytest.fixture
def plan(token_store, tmp_path):
    vault, kek = make_vault(token_store)
    vault.service.close()
    return small_plan(tmp_path / "plan", kek)


def test_without_a_terminal_a_run_needs_yes(plan, token_store):
    """start_new_session leaves the child without a controlling terminal: no /dev/tty."""
    result = subprocess.run([sys.executable, "-m", "ceremony", "run", str(plan)],
                            env={**token_store.env, **PIN_ENV}, capture_output=True, text=True,
                            start_new_session=True, stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert result.stderr == (
        "ceremony: error: this ceremony needs people at a terminal and none is attached. Run "
        "it on a terminal, or pass --yes for a scripted run\n"
    )
    assert not (plan.parent / "out").exists()


@pytest.mark.parametrize("argv", [["run"], ["run", "PLAN", "--resume", "DIR"]])
def test_run_takes_a_plan_or_resume(plan, tmp_path, capsys, argv):
    argv = [str(plan) if a == "PLAN" else str(tmp_path) if a == "DIR" else a for a in argv]
    assert main([*argv, "--yes"]) == 2
    assert capsys.readouterr().err == (
        "ceremony: error: give a plan file, or --resume DIR, but not both. See 'ceremony run "
        "--help'\n"
    )


@pytest.mark.parametrize("command", [["run", "--resume"], ["abort"]])
def test_resume_and_abort_need_a_ceremony_directory(tmp_path, capsys, command):
    assert main([*command, str(tmp_path), "--yes"]) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: {tmp_path} holds no journal.jsonl. Give the directory of the "
        "interrupted ceremony\n"
    )


def test_resume_refuses_a_plan_that_changed(plan, token_store, capsys):
    env = {**token_store.env, **PIN_ENV, "CEREMONY_USER_PIN": "864209"}
    assert main(["run", str(plan), "--yes"], env=env) == 3  # stops at login, resumable
    plan.write_text(plan.read_text().replace('purpose = "resume tests"', 'purpose = "other"'))
    capsys.readouterr()
    assert main(["run", "--resume", str(plan.parent / "out" / "small"), "--yes"], env=env) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: plan file {plan} differs from "
        f"{plan.parent / 'out' / 'small' / 'plan.toml'}. Resume with the plan the ceremony "
        "started with\n"
    )


def test_resume_of_a_completed_ceremony_is_refused(plan, token_store, capsys):
    env = {**token_store.env, **PIN_ENV}
    assert main(["run", str(plan), "--yes"], env=env) == 0
    directory = plan.parent / "out" / "small"
    capsys.readouterr()
    assert main(["run", "--resume", str(directory), "--yes"], env=env) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: ceremony {directory} is already complete. Check it with `ceremony "
        "verify`; there is nothing to resume\n"
    )
