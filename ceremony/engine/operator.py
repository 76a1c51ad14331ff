"""The people at the ceremony, as the engine sees them: an Operator answers, the engine decides.

The engine never prompts. It asks an Operator for PINs, for the custodians' read-back of each
fingerprint, for the participants' sign-offs and for the typed "Yes" before an irreversible
step, and the Operator returns the answer: a PIN, True or False, the name or the word typed.
The engine alone decides what an answer means (decisions.py) and journals a refusal, so every
front end yields the same journal and record for the same answers. The scripted operator here
answers from the plan and `--yes`, and the record says its answers were scripted; the CLI's TTY
operator (commands/tty.py) asks people at the terminal; the TUI supplies its own operator.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

from ceremony.pins import Pinpad, PinSource, read_pin
from ceremony.secret import SecretPin

YES = "Yes"  # what a person types before an irreversible step


class Operator(Protocol):
    kind: str  # "scripted", "tty" or "tui"

    @property
    def scripted(self) -> bool: ...

    async def pin(self, who: str, source: PinSource) -> SecretPin | Pinpad:
        """The PIN for `who` from `source` (a front end's own field goes through
        pins.accept_pin)."""

    async def confirm_kek(self, administrator: str, name: str, kid: str, value: str,
                          words: list[str]) -> bool:
        """Does the KEK's fingerprint match the one noted online?"""

    async def confirm_readback(self, custodian: str, key: str, value: str,
                               words: list[str]) -> bool:
        """Does the paper log hold the key's fingerprint as shown?"""

    async def acknowledge(self, participant: str, role: str, statement: str) -> str:
        """The name the participant typed to sign `statement` off."""

    async def confirm_irreversible(self, action: str) -> str:
        """What a person typed to go on with `action` (only YES goes on)."""

    async def confirm_final_try(self, role: str, token: str) -> str:
        """What a person typed to spend the token's last PIN try (only YES goes on)."""


class ScriptedOperator:
    """Answers from the plan's PIN sources and the --yes flag; nothing is asked."""

    kind = "scripted"
    scripted = True

    def __init__(self, env: Mapping[str, str] = os.environ,
                 to_confirm: str = "run without --yes so a person at the terminal confirms "
                                   "it once the PIN is certain") -> None:
        self.env = env
        self.to_confirm = to_confirm  # how a person could confirm what this operator refuses

    async def pin(self, who: str, source: PinSource) -> SecretPin | Pinpad:
        return await read_pin(source, who, env=self.env)

    async def confirm_kek(self, administrator, name, kid, value, words) -> bool:
        return True

    async def confirm_readback(self, custodian, key, value, words) -> bool:
        return True

    async def acknowledge(self, participant, role, statement) -> str:
        return participant

    async def confirm_irreversible(self, action) -> str:
        return YES

    async def confirm_final_try(self, role, token) -> str:
        """Never: one wrong scripted PIN would lock the token."""
        return ""
