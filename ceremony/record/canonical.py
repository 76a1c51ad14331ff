"""The ceremony record's bytes and its signature check, in software.

The engine signs the record inside the HSM and `ceremony verify` checks it here; an auditor
checks it with openssl alone (docs/record-format.md). All three must agree byte for byte on what
is signed, so the canonical form (RFC 8785) and the ECDSA P-384 / SHA-384 check live in this one
module, which has no HSM code; the list of outputs is layout.py's.
"""

from __future__ import annotations

import rfc8785
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
    load_pem_public_key,
)

from ceremony.digests import public_der
from ceremony.errors import VerificationError
from ceremony.layout import EVIDENCE, SIGNATURE, SIGNER

RECORD_FORMAT = "cmk-ceremony-record/1"
SIGNATURE_ALGORITHM = "ECDSA P-384 SHA-384"


def canonical(obj: object) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value: the exact bytes the signature covers.

    Raises rfc8785.CanonicalizationError (a ValueError) for what JSON cannot carry exactly:
    NaN, infinities, integers beyond 2**53, non-string keys.
    """
    return rfc8785.dumps(obj)


def load_signer_key(
    public_pem: bytes, source: str = SIGNER
) -> ec.EllipticCurvePublicKey:
    """The record signer's public key from its PEM; anything but EC P-384 is refused."""
    try:
        key = load_pem_public_key(public_pem)
    except (ValueError, UnsupportedAlgorithm):  # not a key; a curve OpenSSL does not know
        key = None
    return _p384(key, source)


def public_pem(spki_der: bytes, what: str) -> bytes:
    """The PEM to write for a SubjectPublicKeyInfo DER read from the token.

    The DER must be the standard encoding (for EC: named curve, uncompressed point), which
    is what `openssl pkey -outform DER` gives back from the PEM; otherwise the fingerprint in
    the record and on paper, taken of the token's DER, would not be the PEM's fingerprint.
    """
    key = load_der_public_key(spki_der)
    if public_der(key) != spki_der:
        raise VerificationError(
            "public-key-encoding",
            f"{what} from the token is not in standard SubjectPublicKeyInfo DER",
            "Its fingerprint would differ from the PEM file's; check the token's key "
            "attributes (for EC: EC_PARAMS and EC_POINT)",
        )
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def signer_pem(spki_der: bytes) -> bytes:
    """signer.pub.pem's bytes: an EC P-384 key in standard DER (see public_pem)."""
    try:
        key = load_der_public_key(spki_der)
    except (ValueError, UnsupportedAlgorithm):
        key = None
    _p384(key, "the signer public key")
    return public_pem(spki_der, "the signer public key")


def verify_record_signature(
    public_pem: bytes, record_bytes: bytes, signature_der: bytes, *,
    source: str = SIGNATURE,
) -> None:
    """Check a DER ECDSA signature over SHA-384 of `record_bytes`, as `openssl dgst` does."""
    key = load_signer_key(public_pem)
    try:
        key.verify(signature_der, record_bytes, ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        raise VerificationError(
            "record-signature-invalid",
            f"{source} is not a valid signature of record.json by signer.pub.pem",
            f"The record or its signature changed after signing; {EVIDENCE}",
        ) from None


def _p384(key: object, source: str) -> ec.EllipticCurvePublicKey:
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP384R1):
        return key
    raise VerificationError(
        "signer-key-invalid",
        f"{source} is not an EC P-384 public key",
        f"The record signer is an EC P-384 key on the token; {EVIDENCE}",
    )
