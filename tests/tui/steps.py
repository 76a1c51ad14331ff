"""Moving through the wizard in Pilot, as a person does: Ctrl+N forward through the
plan-building steps (each must accept what the draft holds), Escape back, Tab from field to
field; waiting for a step's own work; answering the engine's questions until the ceremony ends."""

from __future__ import annotations

import asyncio
import time

from textual.widgets import Label

from tui.app import BUILD_STEPS
from tui.screens.questions import ConfirmScreen, PinScreen, TypedScreen


async def walk_to(pilot, step: type, key: str = "ctrl+n"):
    """Press `key` until the step `step` is on the screen; that screen."""
    for _ in range(len(BUILD_STEPS) + 1):
        if isinstance(pilot.app.screen, step):
            return pilot.app.screen
        await pilot.press(key)
        await pilot.pause()
    raise AssertionError(f"{step.__name__} was not reached: {pilot.app.screen} is shown")


async def back_to(pilot, step: type):
    return await walk_to(pilot, step, "escape")


async def tab_to(pilot, selector: str, key: str = "tab"):
    """Press Tab (or `key`) until the widget `selector` has the focus; that widget."""
    target = pilot.app.screen.query_one(selector)
    for _ in range(30):
        if pilot.app.focused is target:
            return target
        await pilot.press(key)
    raise AssertionError(f"{selector} never took the focus: {pilot.app.focused} has it")


async def settle(pilot) -> None:
    """Wait for the screen's own workers (the token listing, the KEK check) to finish; a
    DirectoryTree's loader runs for as long as the tree is there, so it is not waited for."""
    await pilot.pause()
    screen = pilot.app.screen
    own = [worker for worker in pilot.app.workers if worker.node is screen]
    if own:  # an empty list would wait for every worker
        await pilot.app.workers.wait_for_complete(own)
    await pilot.pause()


async def checked(pilot) -> str:
    """The Review step's verdict once its check has finished."""
    for _ in range(300):
        await pilot.pause(0.05)
        verdict = str(pilot.app.screen.query_one("#verdict").render())
        if verdict.startswith(("✓", "✗")):
            return verdict
    raise AssertionError(f"the plan check did not finish: {verdict}")


def text_of(screen) -> str:
    return "\n".join(str(label.render()) for label in screen.query(Label)) + "\n" + "\n".join(
        str(static.render()) for static in screen.query("#about"))


async def answered(pilot, app, answers: list[str], pins: dict[str, str] | None = None) -> None:
    """Answer every question the engine asks until it ends: y to each read-back, each typed
    question with the next of `answers` (kept in `answers` as they are used), and each PIN
    asked for `who` with `pins[who]`, typed key by key."""
    deadline = time.monotonic() + 180
    while app.outcome is None and app.error is None:
        assert time.monotonic() < deadline, text_of(app.screen)
        screen = app.screen
        if isinstance(screen, ConfirmScreen):
            await pilot.press("y")
        elif isinstance(screen, TypedScreen):
            question = str(screen.query_one(".question", Label).render())
            answer = "Yes" if "Type Yes" in question else question.split(" (")[0]
            answers.append(answer)
            await pilot.press(*answer, "enter")
        elif isinstance(screen, PinScreen):
            who = str(screen.query_one(".title", Label).render()).removeprefix("PIN for ")
            assert pins is not None and who in pins, f"a PIN was asked for {who}"
            await pilot.press(*pins.pop(who), "enter")
        await pilot.pause(0.05)
        await asyncio.sleep(0.05)
