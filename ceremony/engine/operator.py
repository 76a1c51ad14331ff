"""The people at the ceremony, as the engine sees them: an Operator answers every decision.

The engine never prompts. It asks an Operator for PINs, for the custodians' read-back of each
fingerprint, for the participants' acknowledgements and for the typed "Yes" before an
irreversible step. The scripted operator here answers from the plan and `--yes`, and the record
says its answers were scripted; the CLI's TTY operator (commands/tty.py) asks people at the
terminal, and the TUI supplies its own operator with the same methods.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

from ceremony.errors import TokenError
from ceremony.pins import Pinpad, PinSource, read_pin
from ceremony.secret import SecretPin


class Operator(Protocol):
    kind: str  # "scripted", "tty" or "tui"

    @property
    def scripted(self) -> bool: ...

    async def pin(self, who: str, source: PinSource) -> SecretPin | Pinpad: ...

    async def confirm_kek(self, administrator: str, name: str, kid: str, value: str,
                          words: list[str]) -> None: ...

    async def confirm_readback(self, custodian: str, key: str, value: str,
                               words: list[str]) -> None: ...

    async def acknowledge(self, participant: str, role: str, statement: str) -> None: ...

    async def confirm_irreversible(self, action: str) -> None: ...

    async def confirm_final_try(self, role: str, token: str, error: TokenError) -> None: ...


class ScriptedOperator:
    """Answers from the plan's PIN sources and the --yes flag; nothing is asked."""

    kind = "scripted"
    scripted = True

    def __init__(self, env: Mapping[str, str] = os.environ) -> None:
        self.env = env

    async def pin(self, who: str, source: PinSource) -> SecretPin | Pinpad:
        return await read_pin(source, who, env=self.env)

    async def confirm_kek(self, administrator, name, kid, value, words) -> None:
        return None

    async def confirm_readback(self, custodian, key, value, words) -> None:
        return None

    async def acknowledge(self, participant, role, statement) -> None:
        return None

    async def confirm_irreversible(self, action) -> None:
        return None

    async def confirm_final_try(self, role, token, error) -> None:
        """Never: one wrong scripted PIN would lock the token."""
        raise TokenError(
            error.code, error.message,
            "A scripted run never spends the final try; run without --yes so a person at "
            "the terminal confirms it once the PIN is certain",
        )
