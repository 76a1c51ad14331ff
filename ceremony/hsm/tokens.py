"""What a token is and can do: identity, decoded flags, and the BYOK-relevant mechanisms."""

from __future__ import annotations

from pkcs11 import TokenFlag

from ceremony.hsm.thread import require_hsm_thread
from ceremony.hsm.types import TokenInfo

# Flags a security officer needs to see before entering a PIN.
FLAG_NAMES = (
    (TokenFlag.LOGIN_REQUIRED, "login required"),
    (TokenFlag.USER_PIN_INITIALIZED, "user PIN initialised"),
    (TokenFlag.PROTECTED_AUTHENTICATION_PATH, "protected authentication path"),
    (TokenFlag.USER_PIN_COUNT_LOW, "user PIN count low"),
    (TokenFlag.USER_PIN_FINAL_TRY, "user PIN final try"),
    (TokenFlag.USER_PIN_LOCKED, "user PIN locked"),
    (TokenFlag.USER_PIN_TO_BE_CHANGED, "user PIN to be changed"),
    (TokenFlag.SO_PIN_COUNT_LOW, "SO PIN count low"),
    (TokenFlag.SO_PIN_FINAL_TRY, "SO PIN final try"),
    (TokenFlag.SO_PIN_LOCKED, "SO PIN locked"),
    (TokenFlag.SO_PIN_TO_BE_CHANGED, "SO PIN to be changed"),
    (TokenFlag.WRITE_PROTECTED, "write protected"),
)

# Mechanisms the BYOK export and the ceremony record rely on, by the names the docs use.
BYOK_MECHANISMS = (
    ("RSA-PKCS-OAEP", 0x0009),
    ("AES-KEY-WRAP-PAD (KWP)", 0x210A),
    ("RSA-AES-KEY-WRAP", 0x1054),
    ("ECDSA", 0x1041),
    ("RSA-PKCS-KEY-PAIR-GEN", 0x0000),
    ("EC-KEY-PAIR-GEN", 0x1040),
    ("AES-KEY-GEN", 0x1080),
)


def decode_flags(flags: int) -> tuple[str, ...]:
    return tuple(name for flag, name in FLAG_NAMES if flags & flag)


def _version(value: tuple[int, int]) -> str:
    return f"{value[0]}.{value[1]}"


def serial_text(token) -> str:
    return token.serial.decode("ascii", errors="replace").strip()


def token_info(lib, token) -> TokenInfo:
    """Read a token's identity, flags and mechanisms (a snapshot: re-read for fresh flags)."""
    require_hsm_thread()
    present = {int(m) for m in token.slot.get_mechanisms()}
    return TokenInfo(
        label=token.label,
        serial=serial_text(token),
        manufacturer=token.manufacturer_id,
        model=token.model,
        hardware_version=_version(token.hardware_version),
        firmware_version=_version(token.firmware_version),
        library=f"{lib.manufacturer_id} {lib.library_description}".strip(),
        library_version=_version(lib.library_version),
        flags=decode_flags(int(token.flags)),
        mechanisms=tuple((name, code in present) for name, code in BYOK_MECHANISMS),
    )
