"""The Review step in Pilot at 80x24 on real SoftHSM tokens: the plan check holds it, the plan is
saved with the bytes that passed (never over a file) and reruns headless, and `ceremony tui
PLAN` opens here."""

import json
import shutil
import subprocess
import sys
import tomllib

import pytest
from textual.widgets import Input, Label, Static

from ceremony.plan.draft import Draft
from ceremony.plan.load import load_plan
from tests.conftest import PIN_ENV, TOKEN
from tests.support.rehearsal import small_plan
from tests.tui.steps import back_to, checked, walk_to
from tui.app import BUILD_STEPS, WizardApp
from tui.screens.execute import ExecuteScreen
from tui.screens.participants import ParticipantsScreen
from tui.screens.review import ReviewScreen
from tui.screens.welcome import WelcomeScreen
from tui.state import WizardState


@pytest.fixture
def given(token_store, tmp_path, vault_kek):
    """The small plan on disk, beside its KEK file."""
    return small_plan(tmp_path / "plan", vault_kek)


@pytest.fixture
def env(token_store):
    return {**token_store.env, **PIN_ENV}


def drafted(given, env, change=lambda data: None) -> WizardState:
    """A wizard state holding the small plan as a draft, not yet saved; `change` edits it."""
    data = tomllib.loads(given.read_text())
    change(data)
    return WizardState(env=env, media=given.parent, plan_path=given.parent / "plan.toml",
                       draft=Draft(data))


def text_of(screen, selector) -> str:
    return str(screen.query_one(selector).render())


async def to_review(pilot) -> ReviewScreen:
    return await walk_to(pilot, ReviewScreen)


def running(app) -> bool:
    """The ceremony started: the execute screen is up (its first question may be over it)."""
    return app.started and any(isinstance(screen, ExecuteScreen) for screen in app.screen_stack)


async def quit_running(pilot) -> None:
    """Quit the ceremony the save started (it is at its first question)."""
    await pilot.press("ctrl+q")
    await pilot.press("y")
    await pilot.pause()


async def test_a_problem_is_listed_with_its_field_and_holds_the_ceremony(given, env):
    # A field no earlier step fills in (each step holds back its own fields' problems)
    state = drafted(given, env, lambda data: data["ceremony"].update(colour="blue"))
    app = WizardApp(state)
    async with app.run_test(size=(80, 24)) as pilot:
        review = await to_review(pilot)
        assert (await checked(pilot)).startswith("✗ Not ready: 1 problem(s)")
        assert "✗ ceremony.colour: unknown key (allowed: id, purpose, workspaces, " \
            "previous_record)" in text_of(review, "#problems")
        await pilot.press("ctrl+s")
        assert app.screen is review and not app.started
        assert "the plan check has not passed" in text_of(review, "#problems")
    assert not (given.parent / "small.plan.toml").exists()


async def test_a_token_problem_is_listed_by_the_dry_run(given, env):
    """Plans given on the command line, which open at Review (the token step would not let a
    plan naming an absent token through)."""
    given.write_text(given.read_text().replace(f'token = "{TOKEN}"', 'token = "absent"'))
    app = WizardApp(WizardState(env=env, media=given.parent, plan_path=given,
                                plan=load_plan(given)))
    async with app.run_test(size=(80, 24)) as pilot:
        review = app.screen
        assert (await checked(pilot)).startswith("✗ Not ready: 1 problem(s)")
        assert "absent" in text_of(review, "#problems")
    env = {**env, "PKCS11_MODULE": str(given.parent / "none.so")}
    app = WizardApp(WizardState(env=env, media=given.parent, plan_path=given,
                                plan=load_plan(given)))
    async with app.run_test(size=(80, 24)) as pilot:
        review = app.screen
        assert (await checked(pilot)).startswith("✗ Not ready: 1 problem(s)")
        assert "pkcs11-module-not-found: PKCS#11 module" in text_of(review, "#problems")


async def test_a_good_draft_is_saved_as_checked_and_reruns_headless(given, env, token_store):
    state = drafted(given, env)
    app = WizardApp(state)
    async with app.run_test(size=(80, 24)) as pilot:
        review = await to_review(pilot)
        saved = given.parent / "small.plan.toml"
        assert review.query_one("#plan-path", Input).value == str(saved)
        assert (await checked(pilot)).startswith("✓ Ready: the plan check passes")
        shown = str(review.query_one("#plan-text", Static).render())
        assert shown == state.draft.text()
        await pilot.press("ctrl+s")
        assert running(app)
        assert saved.read_bytes() == state.draft.text().encode()
        assert state.plan.path == saved
        await quit_running(pilot)
    shutil.rmtree(given.parent / "out")  # the interrupted ceremony the save started
    token_store.reset()
    rerun = subprocess.run([sys.executable, "-m", "ceremony", "run", str(saved), "--yes"],
                           env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    record = json.loads((given.parent / "out" / "small" / "record.json").read_bytes())
    plan = state.plan
    assert [(key["name"], key["features"], key["workspaces"]) for key in record["keys"]] == [
        (key.name, list(key.features), list(plan.ceremony.workspaces)) for key in plan.keys]


async def test_an_existing_file_is_refused_and_kept(given, env):
    app = WizardApp(drafted(given, env))
    async with app.run_test(size=(80, 24)) as pilot:
        review = await to_review(pilot)
        assert (await checked(pilot)).startswith("✓ Ready")
        saved = given.parent / "small.plan.toml"
        saved.write_text("kept")  # made after the check, before the save
        await pilot.press("ctrl+s")
        assert text_of(review, "#problems") == (
            f"✗ plan file: {saved} already exists; type another name (the wizard never "
            "overwrites a file)")
        assert app.screen is review and not app.started
        await pilot.press("enter")  # checked again: refused before any save
        assert (await checked(pilot)).startswith("✗ Not ready: 1 problem(s)")
    assert saved.read_text() == "kept"


async def test_a_given_plan_opens_at_review_and_starts_as_it_is(given, env):
    state = WizardState(env=env, media=given.parent, plan_path=given.parent / "unused.toml",
                        plan=load_plan(given))
    before = sorted(given.parent.iterdir())
    app = WizardApp(state)
    async with app.run_test(size=(80, 24)) as pilot:
        review = app.screen
        assert isinstance(review, ReviewScreen)
        steps = len(BUILD_STEPS)
        assert text_of(review, "#step-title") == f"Step {steps} of {steps}: Review"
        assert review.query_one("#plan-path", Input).value == str(given)
        verdict = await checked(pilot)
        assert verdict == "✓ Ready: the plan check passes. Ctrl+S starts the ceremony"
        assert str(review.query_one("#plan-text", Static).render()) == given.read_text()
        people = await back_to(pilot, ParticipantsScreen)
        assert "Cora (custodian)" in [str(label.render()) for label in
                                      people.query("#people Label").results(Label)]
        assert await walk_to(pilot, ReviewScreen) is review
        await checked(pilot)
        await pilot.press("ctrl+s")
        assert running(app)
        await quit_running(pilot)
    assert sorted(given.parent.iterdir()) == sorted([*before, given.parent / "out"])


async def test_an_edited_given_plan_needs_a_new_file(given, env):
    original = given.read_text()
    app = WizardApp(WizardState(env=env, media=given.parent, plan_path=given,
                                plan=load_plan(given)))
    async with app.run_test(size=(80, 24)) as pilot:
        await checked(pilot)
        await back_to(pilot, WelcomeScreen)
        app.screen.query_one("#purpose", Input).focus()
        await pilot.press("end", "space", "v", "2")
        review = await to_review(pilot)
        assert (await checked(pilot)).startswith("✗ Not ready")
        assert f"plan file: {given} already exists" in text_of(review, "#problems")
        field = review.query_one("#plan-path", Input)
        field.focus()
        await pilot.press("end", *"2")
        assert (await checked(pilot)).startswith("✓ Ready")
        await pilot.press("ctrl+s")
        assert running(app)
        await quit_running(pilot)
    edited = load_plan(given.with_name("plan.toml2"), resuming=True)
    assert edited.ceremony.purpose == "resume tests v2"
    assert given.read_text() == original
