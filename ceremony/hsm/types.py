"""The HSM layer's value types, importable without python-pkcs11.

What callers get back from the HSM boundary (hsm/service.py): a key's reference and public facts,
a token's identity, the wrap self-test's result. The record, the documents and the engine's
replay of a journal use these without loading the PKCS#11 library.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ceremony.keyspec import KeySpec

ZERO_PADDING_WARNING = (
    "token pads key blobs with zero bytes before AES-KWP (SoftHSM 2.6.x): RSA and EC packages "
    "carry 1-7 trailing zero bytes after the PKCS#8 key; use such packages for rehearsal only"
)


@dataclass(frozen=True)
class KeyRef:
    """A key on the token, named the way lookups must name it: class and CKA_ID, plus label."""

    label: str
    key_id: bytes
    spec: KeySpec


@dataclass(frozen=True)
class KeyFacts:
    """What can be said about a key without reading its secret."""

    ref: KeyRef
    fingerprint: str | None  # SHA-256 hex of the SPKI DER (RSA, EC)
    kcv: str | None  # key check value hex (AES), None when the token does not provide one
    public_der: bytes | None  # SubjectPublicKeyInfo DER (RSA, EC)
    attributes: dict[str, object]

    @property
    def kcv_note(self) -> str | None:
        if self.ref.spec.kind == "aes" and self.kcv is None:
            return "token provides no CKA_CHECK_VALUE; key usage was not widened to compute one"
        return None


@dataclass(frozen=True)
class SelfTestResult:
    kwp_mechanism: str
    zero_padding: int  # zero bytes the token appended to a 67-byte test blob; 0 when none
    checked: tuple[str, ...]

    @property
    def warnings(self) -> tuple[str, ...]:
        return (ZERO_PADDING_WARNING,) if self.zero_padding else ()


@dataclass(frozen=True)
class TokenInfo:
    label: str
    serial: str
    manufacturer: str
    model: str
    hardware_version: str
    firmware_version: str
    library: str
    library_version: str
    flags: tuple[str, ...]
    mechanisms: tuple[tuple[str, bool], ...]

    def has_mechanism(self, name: str) -> bool:
        return dict(self.mechanisms)[name]

    def to_json(self) -> dict:
        data = asdict(self)
        data["flags"] = list(self.flags)
        data["mechanisms"] = {name: present for name, present in self.mechanisms}
        return data
