"""Translate python-pkcs11 exceptions into the project's error tree.

python-pkcs11 errors carry no text (`str(PinIncorrect()) == ""`), some codes arrive as
`PKCS11Error("Unmapped error code 0x68")`, and a missing capability is an AttributeError
(DESIGN.md section 5). Callers above this package only ever see CeremonyErrors naming the
token or key and the operation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pkcs11.exceptions as px

from ceremony.errors import CeremonyError, TokenError

# Return values that reach python-pkcs11 unmapped, by the names PKCS#11 gives them.
CKR_NAMES = {
    0x05: "CKR_GENERAL_ERROR",
    0x06: "CKR_FUNCTION_FAILED",
    0x63: "CKR_KEY_SIZE_RANGE",
    0x66: "CKR_KEY_NOT_WRAPPABLE",
    0x68: "CKR_KEY_FUNCTION_NOT_PERMITTED",
    0x69: "CKR_KEY_NOT_WRAPPABLE",
    0x6A: "CKR_KEY_UNEXTRACTABLE",
    0x71: "CKR_MECHANISM_PARAM_INVALID",
    0x113: "CKR_WRAPPING_KEY_TYPE_INCONSISTENT",
}

_HINTS: dict[type, tuple[str, str]] = {
    px.MechanismInvalid: ("mechanism-missing", "The token does not offer this mechanism"),
    px.NoSuchToken: ("token-not-found", "Check the token label or serial"),
    px.TokenNotPresent: ("token-not-found", "Insert the token or check the slot"),
    px.DeviceRemoved: ("token-removed", "Reconnect the HSM and start again"),
    px.SessionClosed: ("session-closed", "The session ended; start again"),
    px.UserNotLoggedIn: ("not-logged-in", "Log in before this step"),
    px.PinLocked: ("pin-locked", "The security officer must reset the PIN"),
    px.KeyUnextractable: ("key-unextractable", "The key is not extractable; it cannot be wrapped"),
    px.TokenWriteProtected: ("token-read-only", "The token is write protected"),
    px.KeyNotWrappable: (
        "key-not-wrappable",
        "A key with CKA_WRAP_WITH_TRUSTED is wrapped only by a trusted KEK: use the trusted "
        "policy, which stages the KEK with the SO PIN",
    ),
}


def describe(exc: BaseException) -> str:
    """A readable name for a pkcs11 exception: its class, or the CKR name of an unmapped code."""
    text = str(exc)
    match = re.search(r"0x([0-9a-fA-F]+)", text)
    if match and type(exc) is px.PKCS11Error:
        code = int(match.group(1), 16)
        return CKR_NAMES.get(code, f"CKR 0x{code:X}")
    if isinstance(exc, AttributeError):
        return "capability not supported by this module"
    return type(exc).__name__


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn any pkcs11 error raised inside into a TokenError saying `what` failed."""
    try:
        yield
    except CeremonyError:
        raise
    except (px.PKCS11Error, AttributeError, NotImplementedError) as exc:
        code, hint = _HINTS.get(type(exc), ("hsm-call-failed", "See the token's documentation"))
        raise TokenError(code, f"{what} failed: {describe(exc)}", hint) from None
