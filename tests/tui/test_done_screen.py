"""The Done screen in Pilot at 80x24, built from the outcome of a real headless ceremony on
SoftHSM: the record's SHA-256 as sha256sum gives it, the verify result, the paper log lines,
the az import commands; a changed file is reported, not verified."""

import subprocess

import pytest
from textual.widgets import Static

from ceremony.engine.ceremony import Engine
from ceremony.engine.operator import ScriptedOperator
from ceremony.plan.load import load_plan
from tests.conftest import PIN_ENV
from tests.support.rehearsal import small_plan
from tui.app import WizardApp
from tui.screens.done import DoneScreen
from tui.state import WizardState


@pytest.fixture
def setup(token_store, tmp_path, vault_kek):
    plan = small_plan(tmp_path / "plan", vault_kek)
    return plan, tmp_path / "plan" / "out" / "small", {**token_store.env, **PIN_ENV}


async def finished(setup):
    plan, directory, env = setup
    outcome = await Engine(load_plan(plan), ScriptedOperator(env), env=env).run()
    return outcome, directory, env


async def shown(app, pilot, outcome) -> str:
    app.outcome = outcome
    await app.push_screen(DoneScreen(outcome))
    for _ in range(200):
        await pilot.pause(0.05)
        text = str(app.screen.query_one("#done-text", Static).render())
        if not text.startswith("…"):
            return text
    raise AssertionError(text)


async def test_done_shows_the_verified_record_and_the_paper_log(setup):
    outcome, directory, env = await finished(setup)
    app = WizardApp(WizardState(env=env, media=directory, plan_path=directory / "p.toml"))
    async with app.run_test(size=(80, 24)) as pilot:
        text = await shown(app, pilot, outcome)
        digest = subprocess.run(["sha256sum", str(directory / "record.json")], check=True,
                                capture_output=True, text=True).stdout.split()[0]
        assert f"record.json SHA-256:\n  {digest}" in text
        assert "✓ verified: every check `ceremony verify` makes held" in text
        assert "last line matches --journal-end" in text and "(matches --signer)" in text
        assert f"journal.jsonl ends at line {outcome.journal_lines}" in text
        for name in ("keys/services.byok", "report.md", "runbook.md"):
            assert name in text
        assert "az keyvault key import --vault-name rehearsal-vault --name adb-disks" in text
        assert f"runbook: {directory / 'runbook.md'}" in text
        body = app.screen.query_one("#done-body")
        for _ in range(100):  # the text is laid out on a later refresh
            if body.max_scroll_y > 0:
                break
            await pilot.pause(0.02)
        await pilot.press("pagedown")
        assert body.scroll_y > 0
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_a_changed_output_is_not_verified(setup):
    outcome, directory, env = await finished(setup)
    with (directory / "runbook.md").open("a") as runbook:
        runbook.write("edited\n")
    app = WizardApp(WizardState(env=env, media=directory, plan_path=directory / "p.toml"))
    async with app.run_test(size=(80, 24)) as pilot:
        text = await shown(app, pilot, outcome)
        assert text.startswith("== Verify ==\n✗ NOT verified:")
        assert "runbook.md" in text.splitlines()[1]
        assert "✓ verified" not in text
