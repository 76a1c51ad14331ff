"""The ceremony record's bytes, its list of outputs and its signature check, in software.

The engine signs the record inside the HSM and `ceremony verify` checks it here; an auditor
checks it with openssl and sha256sum alone (docs/record-format.md). All three must agree byte
for byte on what is signed and which files are listed, so the canonical form (RFC 8785), the
outputs walk and the ECDSA P-384 / SHA-384 check live in this one module, which has no HSM code.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

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

from ceremony.errors import BadInputError, VerificationError
from ceremony.files import MiB, read_input

RECORD_FORMAT = "cmk-ceremony-record/1"
SIGNATURE_ALGORITHM = "ECDSA P-384 SHA-384"
# The journal is covered by the record's `journal` field; the other three are the signature.
OUTPUT_EXCLUDED = ("journal.jsonl", "record.json", "record.json.sig", "signer.pub.pem")
EVIDENCE = "keep the directory as evidence"
REGULAR_ONLY = f"A ceremony writes only regular files; {EVIDENCE}"
# The largest file of a ceremony directory: a long journal, a record listing 200,000 workspaces.
CEREMONY_FILE_LIMIT = 256 * MiB


def canonical(obj: object) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value: the exact bytes the signature covers.

    Raises rfc8785.CanonicalizationError (a ValueError) for what JSON cannot carry exactly:
    NaN, infinities, integers beyond 2**53, non-string keys.
    """
    return rfc8785.dumps(obj)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def public_key_fingerprint(spki_der: bytes) -> str:
    """SHA-256 hex of a SubjectPublicKeyInfo DER, as `openssl pkey -outform DER | sha256sum`."""
    return sha256_hex(spki_der)


def public_der(public_key) -> bytes:
    """The SubjectPublicKeyInfo DER of a loaded public key (what fingerprints are taken of)."""
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def load_signer_key(
    public_pem: bytes, source: str = "signer.pub.pem"
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
    source: str = "record.json.sig",
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


def list_outputs(ceremony_dir: Path) -> dict[str, str]:
    """Every file under the directory but OUTPUT_EXCLUDED -> its SHA-256, paths with "/".

    A temporary `.*.part` file is half-written debris from an interrupted write, and a symlink
    or special file is nothing a ceremony writes: either is a VerificationError, so no record
    is signed over, and no verification passes, a directory in an unknown state.
    """
    ceremony_dir = Path(ceremony_dir)
    outputs = {}
    for relative in _files(ceremony_dir):
        name = relative.rsplit("/", 1)[-1]
        if name.startswith(".") and name.endswith(".part"):
            raise VerificationError(
                "output-debris",
                f"{ceremony_dir / relative} is a half-written temporary file",
                f"A write was interrupted and the directory is incomplete; {EVIDENCE}",
            )
        if relative not in OUTPUT_EXCLUDED:
            outputs[relative] = sha256_hex(read_file(ceremony_dir / relative))
    return outputs


def read_file(path: Path, what: str = "file", limit: int = CEREMONY_FILE_LIMIT) -> bytes:
    """A file's bytes (files.read_input); one that cannot be read is a BadInputError naming
    it, as `what` when it is a FIFO, a device or over `limit`."""
    try:
        return read_input(path, what, limit)
    except OSError as error:
        raise unreadable(path, error) from None


def unreadable(path: Path | str, error: OSError) -> BadInputError:
    """The error for a file the system would not let us read or look at."""
    return BadInputError(
        "file-unreadable", f"{path} cannot be read ({error.strerror})", "Check the path"
    )


def _files(directory: Path) -> list[str]:
    """Relative paths of the regular files below `directory`, sorted; nothing else allowed."""

    def refuse(error: OSError) -> None:
        raise unreadable(error.filename, error)

    found = []
    for root, dirs, files in os.walk(directory, onerror=refuse):
        for name in dirs + files:
            path = Path(root, name)
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                raise VerificationError(
                    "output-not-regular",
                    f"{path} is not a regular file or directory",
                    REGULAR_ONLY,
                )
        found += [Path(root, name).relative_to(directory).as_posix() for name in files]
    return sorted(found)


def _p384(key: object, source: str) -> ec.EllipticCurvePublicKey:
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP384R1):
        return key
    raise VerificationError(
        "signer-key-invalid",
        f"{source} is not an EC P-384 public key",
        f"The record signer is an EC P-384 key on the token; {EVIDENCE}",
    )
