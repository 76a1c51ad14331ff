"""The wizard's operator: each question the engine asks is a modal screen, its answer returned.

TuiOperator implements the engine's Operator protocol (ceremony/engine/operator.py). It pushes a
screen from tui/screens/questions.py, awaits the person's answer and returns it unchanged; the
engine decides what the answer means. A PIN whose source is not `prompt` is read from its source
(env:, file:, fd:, keyring:, pinpad) as every front end does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from textual.app import App
from textual.screen import Screen

from ceremony.engine.decisions import final_try_action
from ceremony.engine.operator import YES
from ceremony.pins import Pinpad, PinSource, read_pin
from ceremony.secret import SecretPin
from tui.screens.questions import ConfirmScreen, PinScreen, TypedScreen


class TuiOperator:
    kind = "tui"
    scripted = False

    def __init__(self, app: App, env: Mapping[str, str]) -> None:
        self._app = app
        self.env = env

    async def _ask(self, screen: Screen):
        """Push `screen` and await what it is dismissed with; a cancelled engine takes it away."""
        answer = asyncio.get_running_loop().create_future()
        self._app.push_screen(screen, callback=lambda result: answer.done()
                              or answer.set_result(result))
        try:
            return await answer
        except asyncio.CancelledError:
            if self._app.screen is screen:
                screen.dismiss()
            raise

    async def pin(self, who: str, source: PinSource) -> SecretPin | Pinpad:
        if source.kind != "prompt":
            return await read_pin(source, who, env=self.env)
        return await self._ask(PinScreen(who, source))

    async def confirm_kek(self, administrator, name, kid, value, words) -> bool:
        return await self._ask(ConfirmScreen(
            f"KEK {name}", kid, value, words,
            f"{administrator}, compare this with the KEK fingerprint noted on the online "
            "workstation. Do they match?"))

    async def confirm_readback(self, custodian, key, value, words) -> bool:
        return await self._ask(ConfirmScreen(
            f"Key {key}", "", value, words,
            f"{custodian}, read these words aloud for the paper log. Does the log match the "
            "screen?"))

    async def acknowledge(self, participant, role, statement) -> str:
        return await self._ask(TypedScreen(
            statement, f"{participant} ({role}), type your name to sign off, then Enter:"))

    async def confirm_final_try(self, role, token) -> str:
        return await self.confirm_irreversible(final_try_action(role, token))

    async def confirm_irreversible(self, action) -> str:
        return await self._ask(TypedScreen(
            f"{action}.", f"This cannot be undone. Type {YES} and Enter to go on:"))
