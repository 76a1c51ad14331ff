"""The CLI's operator: people answer at the terminal, line by line (the engine's Operator)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping

from ceremony.errors import StepFailed, printable
from ceremony.pins import Pinpad, PinSource, read_pin
from ceremony.secret import SecretPin

Ask = Callable[[str], str]
Say = Callable[[str], None]


class TtyOperator:
    """Line prompts at the terminal; PINs with echo off through the PIN source `prompt`.

    What it shows names keys, people, KEKs and the token's own label, so each line goes out
    with its control characters escaped: one line stays one line, and no escape sequence
    reaches the terminal."""

    kind = "tty"
    scripted = False

    def __init__(self, ask: Ask, say: Say, env: Mapping[str, str] = os.environ) -> None:
        self._ask = ask
        self._say = say
        self.env = env

    async def _question(self, text: str) -> str:
        return (await asyncio.to_thread(self._ask, printable(text))).strip()

    async def pin(self, who: str, source: PinSource) -> SecretPin | Pinpad:
        return await read_pin(source, who, env=self.env)

    def _tell(self, text: str) -> None:
        self._say(printable(text))

    def _show(self, title: str, value: str, words: list[str]) -> None:
        self._tell(f"{title}: {value}")
        for start in range(0, len(words), 8):
            self._tell("  " + " ".join(words[start:start + 8]))

    async def _expect(self, question: str, wanted: str, refusal: StepFailed,
                      any_case: bool = False) -> None:
        """Ask; anything but the wanted answer stops the ceremony with `refusal`."""
        answer = await self._question(question)
        if (answer.lower() if any_case else answer) != wanted:
            raise refusal

    async def confirm_kek(self, administrator, name, kid, value, words) -> None:
        self._show(f"KEK {name} ({kid})", value, words)
        await self._expect(
            f"{administrator}, compare this with the KEK fingerprint noted on the online "
            "workstation. Do they match? Type yes or no: ", "yes",
            StepFailed(
                "kek-rejected", f"{administrator} did not confirm the fingerprint of KEK {name}",
                "Do not use this KEK file: fetch the KEK again from the vault and compare",
            ), any_case=True)

    async def confirm_readback(self, custodian, key, value, words) -> None:
        self._show(f"Key {key}", value, words)
        await self._expect(
            f"{custodian}, read these words aloud for the paper log. Type yes once the log "
            "matches the screen, or no to stop: ", "yes",
            StepFailed(
                "readback-rejected", f"{custodian} did not confirm the fingerprint of key {key}",
                "Stop the ceremony; `ceremony abort DIR` destroys the keys it created",
            ), any_case=True)

    async def acknowledge(self, participant, role, statement) -> None:
        self._tell(statement)
        await self._expect(
            f"{participant} ({role}), type your name to sign off: ", participant,
            StepFailed(
                "acknowledgement-refused", f"{participant} did not sign off ({role})",
                "The ceremony stops without a record; resume it when everyone agrees",
            ))

    async def confirm_final_try(self, role, token, error) -> None:
        await self.confirm_irreversible(
            f"Token {token} allows one more {role} PIN try; a wrong PIN now locks it")

    async def confirm_irreversible(self, action) -> None:
        await self._expect(
            f"{action}. This cannot be undone. Type Yes to go on: ", "Yes",
            StepFailed(
                "not-confirmed", f"not confirmed: {action}",
                "Nothing irreversible was done; run again when ready",
            ))
