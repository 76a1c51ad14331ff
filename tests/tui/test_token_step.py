"""The token step in Textual's Pilot at 80x24, on real SoftHSM tokens: the tokens with their
flags and warnings, the lock another ceremony holds, and a split SO PIN the plan loader takes."""

import os
import shutil
import tomllib
from pathlib import Path

from textual.widgets import Label, OptionList, Select, SelectionList

from ceremony.hsm.lock import TokenLock, lock_dir
from ceremony.hsm.present import present_tokens
from ceremony.hsm.service import reinitialize_module
from ceremony.plan.draft import Draft
from tests.conftest import MODULE, TOKEN, write_conf
from tests.hsm.test_present import wrong_user_pin
from tests.tui.steps import settle
from tui.app import WizardApp
from tui.screens.token import TokenScreen
from tui.state import WizardState

PEOPLE = [{"name": "Ada", "role": "administrator"}, {"name": "Cid", "role": "custodian"},
          {"name": "Cora", "role": "custodian"}, {"name": "Wes", "role": "witness"}]


def ready_state(directory: Path, env) -> WizardState:
    """A wizard whose first two steps are filled in, so Ctrl+N twice reaches the token step."""
    draft = Draft({"ceremony": {"id": "pilot", "purpose": "tests"},
                   "output": {"directory": "out"}, "participant": [dict(p) for p in PEOPLE]})
    media = directory / "media"
    media.mkdir(exist_ok=True)
    return WizardState(env=env, media=media, plan_path=directory / "plan.toml", draft=draft)


async def at_step(pilot, screen_type, steps: int):
    """Press Ctrl+N `steps` times, then wait for the step's own work to finish."""
    for _ in range(steps):
        await pilot.press("ctrl+n")
    await settle(pilot)
    assert isinstance(pilot.app.screen, screen_type)
    return pilot.app.screen


def listed(screen) -> list[str]:
    tokens = screen.query_one("#tokens", OptionList)
    return [str(tokens.get_option_at_index(i).prompt) for i in range(tokens.option_count)]


def status(screen) -> str:
    return str(screen.query_one("#token-status", Label).render())


async def test_tokens_are_listed_with_identity_flags_and_pin_warnings(token_store, tmp_path):
    token_store.add_token("second")
    wrong_user_pin(token_store)
    app = WizardApp(ready_state(tmp_path, token_store.env))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await at_step(pilot, TokenScreen, 2)
        second, test = sorted(listed(screen))
        assert second.startswith("second  serial ")
        assert "SoftHSM project, SoftHSM v2, firmware 2.6" in test
        assert "flags: login required, user PIN initialised, user PIN count low" in test
        assert "⚠ user PIN count low: a wrong PIN was entered" in test
        assert "⚠" not in second
        assert screen.query_one("#token-rehearsal").display  # SoftHSM: rehearsal only


async def test_a_token_another_process_holds_says_which_process(token_store, tmp_path):
    [token] = present_tokens(MODULE, token_store.env)
    lock = TokenLock(MODULE, token.info.serial, TOKEN, lock_dir(token_store.env))
    lock.acquire()
    try:
        app = WizardApp(ready_state(tmp_path, token_store.env))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await at_step(pilot, TokenScreen, 2)
            assert f"⚠ in use by ceremony process {os.getpid()}: wait for it to end, or stop " \
                   "it" in listed(screen)[0]
    finally:
        lock.release()


async def test_a_split_so_pin_is_stored_in_the_loaders_format(token_store, tmp_path):
    state = ready_state(tmp_path, token_store.env)
    app = WizardApp(state)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await at_step(pilot, TokenScreen, 2)
        screen.query_one("#so-pin", Select).focus()
        await pilot.press("enter", "down", "enter")  # split between custodians
        custodians = screen.query_one("#so-custodians", SelectionList)
        assert custodians.display
        await pilot.press("tab", "space")  # Cid alone: one part is not a split
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, TokenScreen)
        assert "hsm.so_pin.parts: has 1 part; a split PIN needs at least two" in str(
            screen.query_one("#problems").render())
        await pilot.press("down", "space")
        assert [str(custodians.get_option_at_index(index).prompt) for index in (0, 1)] == [
            "Cid   ✓ types part 1 of 2", "Cora   ✓ types part 2 of 2"]  # words, not colour
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert not isinstance(app.screen, TokenScreen)  # on to the KEKs
    hsm = state.draft.section("hsm")
    assert hsm == {"module": "", "token": TOKEN, "wrap_policy": "trusted", "user_pin": "prompt",
                   "so_pin": {"parts": [{"custodian": "Cid", "source": "prompt"},
                                        {"custodian": "Cora", "source": "prompt"}]}}
    assert tomllib.loads(state.draft.text())["hsm"]["so_pin"] == hsm["so_pin"]  # as saved
    assert state.check().under("hsm") == ()  # the loader takes it


async def test_extractable_needs_no_so_pin_and_stores_none(token_store, tmp_path):
    state = ready_state(tmp_path, token_store.env)
    app = WizardApp(state)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await at_step(pilot, TokenScreen, 2)
        screen.query_one("#wrap-policy", Select).focus()
        await pilot.press("enter", "down", "enter")
        assert not screen.query_one("#so-row").display
        assert "no SO PIN is needed" in str(screen.query_one("#policy-meaning").render())
        await pilot.press("ctrl+n")
    assert "so_pin" not in state.draft.section("hsm")
    assert state.draft.section("hsm")["wrap_policy"] == "extractable"
    assert state.check().under("hsm") == ()


async def test_a_module_that_is_not_there_is_one_line(token_store, tmp_path):
    env = {**token_store.env, "PKCS11_MODULE": str(tmp_path / "missing.so")}
    app = WizardApp(ready_state(tmp_path, env))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await at_step(pilot, TokenScreen, 2)
        assert status(screen) == (
            f"✗ PKCS#11 module {tmp_path / 'missing.so'} (from PKCS11_MODULE) does not exist. "
            "Give the path of the vendor's PKCS#11 library (.so)")
        assert not screen.query_one("#tokens").display


async def test_no_token_says_how_to_make_one(token_store, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    (empty / "tokens").mkdir(parents=True)
    conf = write_conf(empty)
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    reinitialize_module(MODULE)
    app = WizardApp(ready_state(tmp_path, {**token_store.env, "SOFTHSM2_CONF": str(conf)}))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await at_step(pilot, TokenScreen, 2)
        assert status(screen).startswith(f"✗ No initialised token on {MODULE}. Initialise one "
                                         "(SoftHSM: softhsm2-util --init-token --free")
    shutil.rmtree(empty)
