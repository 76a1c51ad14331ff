"""The steps a ceremony publishes before it starts are the steps it then takes, in order.

A front end shows the published list (Engine.steps, and the steps-planned event) and ticks it
off with each transient step-started event. Checked on real tokens for plans with one, two and
three keys, a key destroyed after export, the self-test's warning, and a resume after a kill.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from ceremony.engine.ceremony import KILL_HOOK, Engine
from ceremony.engine.events import EventKind
from ceremony.engine.operator import ScriptedOperator
from ceremony.engine.replay import read_genesis
from ceremony.plan.load import load_plan
from tests.conftest import PIN_ENV
from tests.support.rehearsal import example_plan, small_plan

ONE_KEY = '''
[[key]]
name = "disks"'''


def one_key(path):
    """small_plan without its second key."""
    text = path.read_text()
    path.write_text(text[:text.index(ONE_KEY)] + "\n[output]\ndirectory = \"out\"\n")
    return path


def run_and_watch(engine: Engine, work) -> tuple[list, list]:
    """Run `work` (the engine's run or resume); the planned step ids and the started ones."""
    events = []
    engine.emit = events.append
    asyncio.run(work())
    planned = [e for e in events if e.kind is EventKind.STEPS_PLANNED]
    assert len(planned) == 1
    started = [e.data["step"] for e in events if e.kind is EventKind.STEP_STARTED]
    return [step["id"] for step in planned[0].data["steps"]], started


@pytest.mark.parametrize("make", [
    lambda directory, kek: one_key(small_plan(directory, kek)),
    small_plan,
    example_plan,
], ids=["one key", "two keys, one destroyed", "three keys (example plan)"])
def test_the_published_steps_are_the_steps_taken(tmp_path, token_store, vault_kek, make):
    plan = load_plan(make(tmp_path / "plan", vault_kek))
    env = {**token_store.env, **PIN_ENV}
    engine = Engine(plan, ScriptedOperator(env), env=env)
    published = [step.id for step in engine.steps]
    planned, started = run_and_watch(engine, engine.run)
    assert published == planned == started
    keys = [key.name for key in plan.keys]
    assert started[-3:] == ["documents", "sign", "verify"]
    assert [s for s in started if s.startswith("create:")] == [f"create:{k}" for k in keys]
    destroyed = [key.name for key in plan.keys if key.after_export == "destroy"]
    assert [s for s in started if s.startswith("destroy:")] == [f"destroy:{k}" for k in destroyed]
    journal = (plan.ceremony_dir / "journal.jsonl").read_text()
    assert '"type":"warning"' in journal  # the self-test's warning is no step of its own
    assert '"step-started"' not in journal and '"steps-planned"' not in journal


def test_a_resume_publishes_and_takes_only_what_is_left(tmp_path, token_store, vault_kek):
    path = small_plan(tmp_path / "plan", vault_kek)
    env = {**token_store.env, **PIN_ENV}
    killed = subprocess.run([sys.executable, "-m", "ceremony", "run", str(path), "--yes"],
                            env={**env, KILL_HOOK: "26"}, capture_output=True, timeout=120)
    assert killed.returncode == -9
    directory = tmp_path / "plan" / "out" / "small"
    plan = load_plan(read_genesis(directory / "journal.jsonl").plan, resuming=True)
    engine = Engine(plan, ScriptedOperator(env), env=env, directory=directory)
    planned, started = run_and_watch(engine, engine.resume)
    assert planned == started
    assert "kek:kv" not in started and "create:services" in started
    assert "readback:services" not in started  # confirmed and sealed before the kill
