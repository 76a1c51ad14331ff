"""Where a PIN comes from. Never from argv or the plan: DESIGN.md section 5, PIN sources.

A source is written as a short string in the plan or on the command line:
`prompt` (echo off on /dev/tty, or the masked TUI field), `pinpad` (the token's protected
authentication path), `fd:N` (read one line from an inherited file descriptor), `file:PATH`
(a file only its owner can read: mode 0600 or stricter), `env:NAME` (an environment variable),
`keyring:SERVICE/USERNAME` (opt-in; plaintext and null backends are refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SourceKind = Literal["prompt", "pinpad", "fd", "file", "env", "keyring"]
SOURCE_FORMS = "prompt, pinpad, fd:N, file:PATH, env:NAME, keyring:SERVICE/USERNAME"


@dataclass(frozen=True)
class PinSource:
    kind: SourceKind
    value: str | None = None

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value}"


def parse_pin_source(text: str) -> PinSource:
    """Parse a PIN source string; ValueError names the allowed forms."""
    kind, sep, value = text.partition(":")
    if kind in ("prompt", "pinpad") and not sep:
        return PinSource(kind)
    if kind == "fd" and value.isdigit():
        return PinSource("fd", value)
    if kind in ("file", "env") and value:
        return PinSource(kind, value)
    if kind == "keyring" and "/" in value.strip("/"):
        return PinSource("keyring", value)
    raise ValueError(f"{text!r} is not a PIN source; use one of {SOURCE_FORMS}")
