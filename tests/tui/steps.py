"""Moving through the wizard's plan-building steps in Pilot, as a person does: Ctrl+N forward
(each step must accept what the draft holds), Escape back."""

from __future__ import annotations

from tui.app import BUILD_STEPS


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
