"""SVG snapshots (pytest-textual-snapshot) of the wizard's screens at 80x24, on real parts.

Each snapshot must be the same on any machine and any run, so every input shown is fixed: the
shipped example plan and example KEK (its kid and fingerprint are the example's own), the
ceremony files under one fixed directory (FIXED, made and removed by each test), the SoftHSM
token labelled "test". Screens that show a token serial, a fresh signer or key fingerprint or a
record digest (all random by design) are not snapshotted here: the Token step, the Done screen.
The execute screen's clock ("Now: ... (N s)") reads the screen module's monotonic, which is
held at one instant so the seconds shown do not depend on the machine's speed.

`--snapshot-update` rewrites tests/tui/__snapshots__/; a failing run writes
snapshot_report.html with the old and new screens side by side.
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

import pytest

from ceremony.engine.ceremony import KILL_HOOK
from ceremony.engine.replay import plan_of
from ceremony.plan.draft import Draft
from ceremony.plan.load import load_plan
from tests.conftest import PIN_ENV, TOKEN
from tests.support import ceremony_cli
from tests.support.rehearsal import EXAMPLE_KID
from tests.tui.steps import settle
from tui.app import WizardApp
from tui.screens import execute
from tui.screens.keks import KeksScreen
from tui.screens.keys import KeysScreen
from tui.screens.participants import ParticipantsScreen
from tui.screens.questions import ConfirmScreen, PinScreen
from tui.screens.resume import ResumeScreen
from tui.screens.review import ReviewScreen
from tui.state import WizardState

FIXED = Path("/tmp/cmk-ceremony-snapshots")
SIZE = (80, 24)
KEK_FILE = "kek-contoso-cmk-kv.pem"
ALL_TABLES = ("ceremony", "participant", "hsm", "kek", "key", "output")
FIRST_KEY_EXPORTED = 18  # the seal of the first key's key-exported line (as in small_plan)


@pytest.fixture
def fixed():
    """FIXED, holding the media with the example KEK and the example plan on the test token
    (the user PIN typed, the SO PIN from the environment); removed afterwards."""
    shutil.rmtree(FIXED, ignore_errors=True)
    (FIXED / "media").mkdir(parents=True)
    examples = resources.files("ceremony").joinpath("examples")
    (FIXED / "media" / KEK_FILE).write_bytes(examples.joinpath(KEK_FILE).read_bytes())
    text = examples.joinpath("example-plan.toml").read_text()
    text = text.replace('token = "rehearsal"', f'token = "{TOKEN}"')
    text = text.replace(f'file = "{KEK_FILE}"', f'file = "media/{KEK_FILE}"')
    (FIXED / "example.toml").write_text(text)
    (FIXED / "prompted.toml").write_text(
        text.replace('user_pin = "env:CEREMONY_USER_PIN"', 'user_pin = "prompt"'))
    yield FIXED
    shutil.rmtree(FIXED, ignore_errors=True)


def example_draft(*tables: str) -> Draft:
    """The example plan's draft, keeping only the tables named."""
    data = Draft.from_plan(load_plan(FIXED / "example.toml")).data
    return Draft({name: value for name, value in data.items() if name in tables})


def wizard(env, draft: Draft | None = None, plan: Path | None = None) -> WizardApp:
    return WizardApp(WizardState(env=env, media=FIXED / "media", plan_path=FIXED / "plan.toml",
                                 draft=draft or Draft(),
                                 plan=load_plan(plan) if plan else None))


async def step_to(pilot, screen_type: type) -> None:
    """Ctrl+N, each step's own work finished, until `screen_type` is shown."""
    for _ in range(6):
        await settle(pilot)
        if isinstance(pilot.app.screen, screen_type):
            return
        await pilot.press("ctrl+n")
    raise AssertionError(f"{screen_type.__name__} not reached: {pilot.app.screen}")


async def until(pilot, ready, what: str) -> None:
    for _ in range(400):
        await pilot.pause(0.05)
        if ready(pilot.app):
            await settle(pilot)
            return
    raise AssertionError(f"{what} not shown: {pilot.app.screen}")


def verdict(app) -> str:
    return str(app.screen.query_one("#verdict").render())


def test_welcome(fixed, snap_compare):
    assert snap_compare(wizard(dict(os.environ)), terminal_size=SIZE)


def test_f1_help_on_welcome(fixed, snap_compare):
    assert snap_compare(wizard(dict(os.environ)), press=["f1"], terminal_size=SIZE)


def test_quit_dialog(fixed, snap_compare):
    assert snap_compare(wizard(dict(os.environ)), press=["ctrl+q"], terminal_size=SIZE)


def test_participants_with_four_people(fixed, snap_compare):
    async def four_people(pilot):
        await step_to(pilot, ParticipantsScreen)

    app = wizard(dict(os.environ), example_draft("ceremony", "participant", "output"))
    assert snap_compare(app, terminal_size=SIZE, run_before=four_people)


def test_keks_with_the_example_kek_picked_and_passing(fixed, token_store, snap_compare):
    async def picked(pilot):
        await step_to(pilot, KeksScreen)
        await pilot.press("down", "enter", "tab", *EXAMPLE_KID)
        await until(pilot, lambda app: "✓ passes" in str(app.screen.query_one("#rules")
                                                         .render()), "the KEK's rules")

    app = wizard(token_store.env, example_draft("ceremony", "participant", "output", "hsm"))
    assert snap_compare(app, terminal_size=SIZE, run_before=picked)


def test_keys_with_three_keys(fixed, token_store, snap_compare):
    async def keys(pilot):
        await step_to(pilot, KeysScreen)

    assert snap_compare(wizard(token_store.env, example_draft(*ALL_TABLES)),
                        terminal_size=SIZE, run_before=keys)


def test_review_ready(fixed, token_store, snap_compare):
    async def ready(pilot):
        await step_to(pilot, ReviewScreen)
        await until(pilot, lambda app: "Ready" in verdict(app), "the Ready verdict")

    app = wizard({**token_store.env, **PIN_ENV}, example_draft(*ALL_TABLES))
    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


async def started(pilot) -> None:
    """The given plan's review Ready, then Ctrl+S: the ceremony asks its first question."""
    await until(pilot, lambda app: "Ready" in verdict(app), "the Ready verdict")
    await pilot.press("ctrl+s")
    await until(pilot, lambda app: isinstance(app.screen, ConfirmScreen), "the KEK read-back")


@pytest.fixture
def still_clock(monkeypatch):
    """The execute screen's clock held at one instant: its seconds always read 0."""
    monkeypatch.setattr(execute, "monotonic", lambda: 1000.0)


def test_execute_with_the_kek_read_back(fixed, token_store, still_clock, snap_compare):
    app = wizard({**token_store.env, **PIN_ENV}, plan=FIXED / "prompted.toml")
    assert snap_compare(app, terminal_size=SIZE, run_before=started)


def test_the_user_pin_question(fixed, token_store, still_clock, snap_compare):
    async def pin(pilot):
        await started(pilot)
        await pilot.press("y")
        await until(pilot, lambda app: isinstance(app.screen, PinScreen), "the PIN question")

    app = wizard({**token_store.env, **PIN_ENV}, plan=FIXED / "prompted.toml")
    assert snap_compare(app, terminal_size=SIZE, run_before=pin)


def test_resume_an_interrupted_ceremony(fixed, token_store, snap_compare):
    env = {**token_store.env, **PIN_ENV}
    directory = FIXED / "ceremonies" / load_plan(FIXED / "example.toml").ceremony.id
    killed = ceremony_cli({**env, KILL_HOOK: str(FIRST_KEY_EXPORTED)}, "run",
                          str(FIXED / "example.toml"), "--yes")
    assert killed.returncode == -9, killed.stderr
    plan = plan_of(directory)

    async def surveyed(pilot):
        await until(pilot, lambda app: isinstance(app.screen, ResumeScreen)
                    and "r resumes it" in str(app.screen.query_one("#about").render()),
                    "the journal's survey")

    app = WizardApp(WizardState(env=env, media=directory, plan_path=plan.path, plan=plan),
                    directory)
    assert snap_compare(app, terminal_size=SIZE, run_before=surveyed)


def test_verify_a_finished_ceremony(fixed, token_store, snap_compare):
    env = {**token_store.env, **PIN_ENV}
    directory = FIXED / "ceremonies" / load_plan(FIXED / "example.toml").ceremony.id
    assert ceremony_cli(env, "run", str(FIXED / "example.toml"), "--yes").returncode == 0
    app = WizardApp(WizardState(env=env, media=directory, plan_path=FIXED / "plan.toml"),
                    directory, verifying=True)
    assert snap_compare(app, terminal_size=SIZE)
