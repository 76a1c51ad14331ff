"""The tokens a module offers, as plain data for a front end choosing one: each token's identity
and flags, and which process holds its lock, if any. Nothing is selected, locked or logged in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ceremony.hsm.lock import lock_holder
from ceremony.hsm.service import HsmService
from ceremony.hsm.types import TokenInfo


@dataclass(frozen=True)
class PresentToken:
    info: TokenInfo
    holder: str | None  # pid of the ceremony process holding the token, None when free


def present_tokens(module: Path, env: Mapping[str, str] = os.environ) -> list[PresentToken]:
    """Load `module` and list its initialised tokens (blocks: call it off the event loop).
    A module that cannot be loaded raises the TokenError `ceremony token list` shows."""
    service = HsmService(module, env)
    try:
        found = service.tokens()
    finally:
        service.close()
    return [PresentToken(info, lock_holder(module, info.serial, env)) for info in found]
