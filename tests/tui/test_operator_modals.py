"""The wizard's operator in Textual's Pilot at 80x24: each question is a modal, each answer is
returned as given (the engine decides what it means)."""

import asyncio

from textual import events
from textual.app import App
from textual.widgets import Digits, Input, Label

from ceremony.pins import PinSource
from ceremony.readback import hex_groups, pgp_words
from tui.operator import TuiOperator
from tui.screens.questions import ConfirmScreen, PinScreen, TypedScreen
from tui.widgets.fingerprint import Fingerprint, LargeHex
from tui.widgets.pin_field import PinField

DIGEST = bytes(range(32))


async def asked(pilot, question):
    """Start `question` (a coroutine of the operator) and wait for its modal."""
    task = asyncio.create_task(question)
    await pilot.pause()
    return task


async def test_a_read_back_shows_the_fingerprint_and_returns_the_answer():
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        operator = TuiOperator(app, {})
        task = await asked(pilot, operator.confirm_readback(
            "Cid", "services", hex_groups(DIGEST), pgp_words(DIGEST)))
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # nothing is focused: Enter answers nothing
        assert not task.done()
        await pilot.press("n")
        assert await task is False
        task = await asked(pilot, operator.confirm_kek(
            "Ada", "kv", "https://kv/keys/k/1", hex_groups(DIGEST), pgp_words(DIGEST)))
        await pilot.press("y")
        assert await task is True


async def test_a_sign_off_returns_the_name_typed():
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        task = await asked(pilot, TuiOperator(app, {}).acknowledge("Wes", "witness", "I saw"))
        assert isinstance(app.screen, TypedScreen)
        await pilot.press(*"Wes", "enter")
        assert await task == "Wes"


async def test_the_pin_field_refuses_an_empty_pin_and_returns_the_typed_one():
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        task = await asked(pilot, TuiOperator(app, {}).pin("user of token test",
                                                           PinSource("prompt")))
        screen = app.screen
        assert isinstance(screen, PinScreen) and screen.query_one(Input).password
        await pilot.press("enter")
        assert "is empty" in str(screen.query_one(".problem", Label).render())
        assert not task.done()
        await pilot.press(*"4711", "enter")
        assert (await task).reveal() == "4711"


async def test_a_pin_from_another_source_is_read_there_without_a_modal():
    app = App()
    async with app.run_test(size=(80, 24)):
        operator = TuiOperator(app, {"THE_PIN": "2468"})
        pin = await operator.pin("user of token test", PinSource("env", "THE_PIN"))
        assert pin.reveal() == "2468"
        assert not isinstance(app.screen, PinScreen)


async def test_a_cancelled_question_takes_its_modal_away():
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        task = await asked(pilot, TuiOperator(app, {}).confirm_irreversible("Destroy key k"))
        assert isinstance(app.screen, TypedScreen)
        task.cancel()
        await pilot.pause()
        assert task.cancelled()
        assert not isinstance(app.screen, TypedScreen)


async def test_the_pin_field_refuses_copy_cut_and_paste():
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        task = await asked(pilot, TuiOperator(app, {}).pin("Cid (SO PIN part 1 of 2)",
                                                           PinSource("prompt")))
        screen = app.screen
        field = screen.query_one(PinField)
        app.copy_to_clipboard("from-the-clipboard")
        await pilot.press(*"1357", "ctrl+shift+a", "ctrl+x")
        assert app.clipboard == "from-the-clipboard" and field.value == "1357"
        await pilot.press("ctrl+v")
        field.post_message(events.Paste("2468"))  # what the terminal sends for a paste
        await pilot.pause()
        assert field.value == "1357"
        assert str(screen.query_one(".problem", Label).render()) == (
            "Type the PIN: copying, cutting and pasting a PIN are refused")
        await pilot.press("enter")
        assert (await task).reveal() == "1357"
        assert "1357" not in app.clipboard


async def test_l_shows_the_hex_in_large_type_and_back():
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        task = await asked(pilot, TuiOperator(app, {}).confirm_readback(
            "Cid", "services", hex_groups(DIGEST), pgp_words(DIGEST)))
        screen = app.screen
        assert not screen.query_one(LargeHex).display and screen.query_one(Fingerprint).display
        await pilot.press("l")
        rows = [digits.value for digits in screen.query(Digits)]
        assert rows == [" ".join(hex_groups(DIGEST).split(" ")[i:i + 4]) for i in (0, 4, 8, 12)]
        assert screen.query_one(LargeHex).display and not screen.query_one(Fingerprint).display
        assert screen.query_one(LargeHex).region.bottom <= 24  # the whole of it on screen
        await pilot.press("l", "y")
        assert await task is True
