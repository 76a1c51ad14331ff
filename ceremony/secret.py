"""A PIN in memory, kept out of everything that prints, logs, pickles or serialises.

DESIGN.md invariant 2: a PIN never appears in argv, logs, the journal, the record, exception
text or on screen. A plain `str` leaks through repr, f-strings, tracebacks, json.dumps and
pickle; a `SecretPin` leaks through none of them, and the one way out, `reveal()`, is easy to
find in review. Python cannot wipe memory: this guards against disclosure by accident, not
against someone who can read the process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

_MASK = "SecretPin(***)"


class SecretPin:
    """A PIN as str. Equality is identity: no `pin == "1234"` by value, no timing oracle."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("SecretPin holds a str")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The PIN itself, for the one call that needs it (the token login)."""
        return self._value

    def __repr__(self) -> str:
        return _MASK

    __str__ = __repr__

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("SecretPin is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("SecretPin is immutable")

    def __reduce__(self) -> NoReturn:
        # pickle, copy and deepcopy all come through here.
        raise TypeError("a SecretPin cannot be pickled or copied")


def join(parts: Sequence[SecretPin]) -> SecretPin:
    """Split knowledge: the custodians' PIN parts concatenated in the order given."""
    if not parts:
        raise ValueError("join needs at least one PIN part")
    return SecretPin("".join(part.reveal() for part in parts))
