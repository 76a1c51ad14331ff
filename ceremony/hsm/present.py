"""The tokens a module offers, as plain data for a front end choosing one: each token's identity
and flags, and which process holds its lock, if any. Nothing is selected, locked or logged in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ceremony.hsm.lock import lock_holder
from ceremony.hsm.service import ROLE_FLAGS, HsmService
from ceremony.hsm.tokens import decode_flags
from ceremony.hsm.types import TokenInfo

# The flags login refuses or warns on (service.ROLE_FLAGS), by their decoded names.
PIN_WARNINGS = tuple(name for flags in ROLE_FLAGS.values() for flag in flags
                     for name in decode_flags(int(flag)))


PIN_ADVICE = {
    "low": "a wrong PIN was entered; make sure of the PIN before the ceremony",
    "try": "one more wrong PIN locks it",
    "locked": "the security officer must unlock or reset it first",
}


@dataclass(frozen=True)
class PresentToken:
    info: TokenInfo
    holder: str | None  # pid of the ceremony process holding the token, None when free

    @property
    def warnings(self) -> tuple[str, ...]:
        """What to settle before choosing this token, in words."""
        found = [f"{flag}: {PIN_ADVICE[flag.rsplit(' ', 1)[-1]]}" for flag in self.info.flags
                 if flag in PIN_WARNINGS]
        if self.holder is not None:
            found.append(f"in use by ceremony process {self.holder}: wait for it to end, or "
                         "stop it")
        return tuple(found)


def present_tokens(module: Path, env: Mapping[str, str] = os.environ) -> list[PresentToken]:
    """Load `module` and list its initialised tokens (blocks: call it off the event loop).
    A module that cannot be loaded raises the TokenError `ceremony token list` shows."""
    service = HsmService(module, env)
    try:
        found = service.tokens()
    finally:
        service.close()
    return [PresentToken(info, lock_holder(module, info.serial, env)) for info in found]
