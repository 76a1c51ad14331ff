"""`ceremony tui --resume DIR` and `--verify DIR` on real SoftHSM tokens and a real ceremony the
kill hook interrupted: the resume screen shows what the sealed journal says is done and left,
r finishes the ceremony and a aborts it (the engine asking through the wizard's modals), and
the verify screen checks a finished ceremony against the signer fingerprint typed in."""

import json

import pytest
from textual.widgets import Input, Label

from ceremony.cli import main
from ceremony.engine.replay import plan_of
from ceremony.engine.steps import planned_steps
from tests.conftest import PIN_ENV, token_labels
from tests.support import ceremony_cli
from tests.support.rehearsal import interrupted_small, make_vault, small_plan
from tests.tui.steps import answered, text_of
from tests.tui.tmux import TmuxWizard
from tui.app import WizardApp
from tui.screens.done import DoneScreen
from tui.screens.resume import ResumeScreen
from tui.state import WizardState


@pytest.fixture
def interrupted(token_store, tmp_path):
    """A small_plan ceremony killed once its first key is exported: (directory, env)."""
    _, directory, env = interrupted_small(token_store, tmp_path)
    return directory, env


@pytest.fixture
def finished(token_store, tmp_path):
    """A small_plan ceremony run to the end: (directory, signer fingerprint, env)."""
    vault, kek = make_vault(token_store)
    vault.service.close()
    plan = small_plan(tmp_path / "plan", kek)
    env = {**token_store.env, **PIN_ENV}
    assert ceremony_cli(env, "run", str(plan), "--yes").returncode == 0
    directory = plan.parent / "out" / "small"
    record = json.loads((directory / "record.json").read_bytes())
    return directory, record["signer"]["fingerprint_sha256"], env


def wizard_on(directory, env):
    plan = plan_of(directory)
    return WizardApp(WizardState(env=env, media=directory, plan_path=plan.path, plan=plan),
                     directory)


async def surveyed(pilot, app) -> ResumeScreen:
    """The resume screen once the journal is read."""
    for _ in range(600):
        await pilot.pause(0.05)
        if isinstance(app.screen, ResumeScreen) and "r resumes it" in text_of(app.screen):
            return app.screen
    raise AssertionError(text_of(app.screen))


async def test_the_resume_screen_lists_done_and_left_and_r_finishes_it(interrupted):
    directory, env = interrupted
    app = wizard_on(directory, env)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await surveyed(pilot, app)
        done = [str(label.render()) for label in screen.query("#done Label")]
        left = [str(label.render()) for label in screen.query("#left Label")]
        assert done[1:] == ["✓ confirming KEK kv", "✓ the read-back of key services",
                            "✓ exporting key services"]
        assert left[1:] == [f"· {step.title}" for step in planned_steps(
            plan_of(directory))[1:] if step.id not in (
                "readback:services", "export:services")]
        await pilot.press("r")
        answers = []
        await answered(pilot, app, answers)
        assert app.error is None
        assert answers == ["Ada", "Wes", "Yes"]  # sign-offs, then destroying key disks
        assert isinstance(app.screen, DoneScreen)
        assert "✓ Ceremony completed" in str(app.screen.query_one("#done-title", Label).render())
    assert app.outcome.directory == directory
    assert main(["verify", str(directory), "--unpinned"]) == 0
    assert resumed_and_last(directory) == ["resumed", "ceremony-completed"]


def resumed_and_last(directory) -> list[str]:
    """The resumed and the last line types of the journal."""
    types = [json.loads(line)["type"]
             for line in (directory / "journal.jsonl").read_text().splitlines()
             if json.loads(line)["type"] != "journal-sealed"]
    return [kind for kind in types if kind == "resumed"] + types[-1:]


async def test_a_aborts_it_once_yes_is_typed(interrupted, token_store):
    directory, env = interrupted
    app = wizard_on(directory, env)
    async with app.run_test(size=(80, 24)) as pilot:
        await surveyed(pilot, app)
        await pilot.press("a")
        answers = []
        await answered(pilot, app, answers)
        assert app.error is None
        assert answers == ["Yes"]
        assert "aborted: 1 key destroyed" in str(app.screen.query_one("#status",
                                                                      Label).render())
    assert app.outcome == 1
    lines = [json.loads(line) for line in (directory / "journal.jsonl").read_text().splitlines()]
    kinds = [line["type"] for line in lines if line["type"] != "journal-sealed"]
    assert kinds[kinds.index("ceremony-aborted"):] == [
        "ceremony-aborted", "key-destroyed", "package-withdrawn"]
    assert token_labels(token_store) == ["cmk-ceremony-signer"]
    assert not (directory / "keys" / "services.byok").exists()


def test_verify_with_the_right_signer_says_verified_and_exits_0(finished, tmp_path):
    directory, signer, env = finished
    wizard = TmuxWizard(tmp_path, None, env, "--verify", str(directory))
    try:
        wizard.wait_for("Signer fingerprint")
        wizard.type(" ".join(signer[i:i + 4] for i in range(0, 64, 4)))
        wizard.keys("Enter")
        shown = wizard.wait_for("✓ Verified: every check held.")
        assert "matches --signer" in shown
        assert wizard.quit_answering_yes() == 0
    finally:
        wizard.close()


def test_verify_with_a_wrong_signer_names_the_mismatch_and_exits_4(finished, tmp_path):
    directory, signer, env = finished
    wizard = TmuxWizard(tmp_path, None, env, "--verify", str(directory))
    try:
        wizard.wait_for("Signer fingerprint")
        wizard.type("00" * 32)
        wizard.keys("Enter")
        shown = "".join(wizard.wait_for("✗ Not verified").split())
        assert f"hasfingerprint{signer},not{'00' * 32}asgivenwith--signer" in shown
        assert "Whattodo:Anotherkeysignedthisrecord" in shown
        assert wizard.quit_answering_yes() == 4
    finally:
        wizard.close()


def test_a_plan_whose_ceremony_was_interrupted_opens_resume_or_abort(interrupted, tmp_path):
    directory, env = interrupted
    wizard = TmuxWizard(tmp_path, directory.parent.parent / "plan.toml", env)
    try:
        shown = wizard.wait_for("r resumes it; a aborts it")
        assert "Interrupted ceremony small" in shown
        assert f"Directory:{directory}" in "".join(shown.split())
        assert wizard.quit_answering_yes() == 130
    finally:
        wizard.close()


def test_a_plan_whose_ceremony_finished_offers_to_verify_it(finished, tmp_path):
    directory, signer, env = finished
    wizard = TmuxWizard(tmp_path, directory.parent.parent / "plan.toml", env)
    try:
        wizard.wait_for("This ceremony is finished (its record.json is there)")
        wizard.type(signer)
        wizard.wait_for("✓ Verified: every check held.")
        assert wizard.quit_answering_yes() == 0
    finally:
        wizard.close()


def test_resume_and_verify_exclude_each_other_and_a_plan(tmp_path, capsys):
    assert main(["tui", "--resume", str(tmp_path), "--verify", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "ceremony: error: ceremony tui: argument --verify: not allowed with argument --resume. "
        "See 'ceremony tui --help'\n")
    assert main(["tui", "plan.toml", "--resume", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "ceremony: error: ceremony tui: argument --resume: not allowed with argument plan. "
        "See 'ceremony tui --help'\n")


async def test_naming_an_interrupted_ceremony_at_welcome_opens_it_to_resume(interrupted):
    directory, env = interrupted
    plan_path = directory.parent.parent / "new.plan.toml"
    app = WizardApp(WizardState(env=env, media=directory, plan_path=plan_path))
    async with app.run_test(size=(80, 24)) as pilot:
        for field, text in (("#id", "small"), ("#purpose", "again"), ("#directory", "out")):
            app.screen.query_one(field, Input).value = text
        await pilot.press("ctrl+n")
        screen = await surveyed(pilot, app)
        assert isinstance(screen, ResumeScreen)
        assert "Interrupted ceremony small" in text_of(screen)
    assert app.state.plan.path == directory.parent.parent / "plan.toml"
