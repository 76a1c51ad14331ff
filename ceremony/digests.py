"""SHA-256 of bytes and of public keys: the fingerprints people compare with the paper log."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def public_key_fingerprint(spki_der: bytes) -> str:
    """SHA-256 hex of a SubjectPublicKeyInfo DER, as `openssl pkey -outform DER | sha256sum`."""
    return sha256_hex(spki_der)


def public_der(public_key) -> bytes:
    """The SubjectPublicKeyInfo DER of a loaded public key (what fingerprints are taken of)."""
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
