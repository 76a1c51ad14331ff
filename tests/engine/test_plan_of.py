"""replay.plan_of: the plan of the ceremony in a directory, as its journal's first line names
it (or the plan given instead), loaded as resume and abort load it."""

import shutil
import subprocess
import sys

import pytest

from ceremony.engine.ceremony import KILL_HOOK
from ceremony.engine.replay import plan_of
from ceremony.errors import BadInputError


@pytest.fixture
def started(setup):
    """A ceremony killed right after its first journal line: (plan, directory)."""
    plan, directory, env = setup
    killed = subprocess.run([sys.executable, "-m", "ceremony", "run", str(plan), "--yes"],
                            env={**env, KILL_HOOK: "1"}, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    return plan, directory


def test_the_plan_the_journal_names(started):
    plan, directory = started
    assert plan_of(directory).path == plan.resolve()


def test_a_plan_given_instead_when_it_moved(started, tmp_path):
    plan, directory = started
    moved = tmp_path / "moved" / "plan.toml"
    moved.parent.mkdir()
    shutil.copy(plan, moved)
    shutil.copy(plan.parent / "kek.pem", moved.parent / "kek.pem")
    plan.unlink()
    assert plan_of(directory, moved).path == moved


def test_a_directory_without_a_journal_is_not_a_ceremony(tmp_path):
    with pytest.raises(BadInputError) as refused:
        plan_of(tmp_path)
    assert refused.value.line() == (f"ceremony: error: {tmp_path} holds no journal.jsonl. Give "
                                    "the directory of the interrupted ceremony")
