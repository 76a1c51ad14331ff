"""The ceremony signer: an EC P-384 key that never leaves the token and signs every record.

Only raw CKM_ECDSA exists on SoftHSM, so the record is hashed with SHA-384 on the host, the
digest signed inside the token, and r||s DER-encoded, which is what `openssl dgst -sha384
-verify` expects (DESIGN.md section 5).
"""

from __future__ import annotations

import hashlib

from pkcs11 import Attribute as A
from pkcs11 import Mechanism, ObjectClass
from pkcs11.util.ec import encode_ecdsa_signature

from ceremony.errors import TokenError
from ceremony.hsm import keys
from ceremony.hsm.thread import require_hsm_thread
from ceremony.hsm.types import KeyRef
from ceremony.keyspec import KeySpec

SIGNER_LABEL = "cmk-ceremony-signer"
SIGNER_SPEC = KeySpec("ec", curve="P-384")


def find_signer(session, token_label: str) -> KeyRef | None:
    require_hsm_thread()
    found = keys.find_objects(session, {A.CLASS: ObjectClass.PRIVATE_KEY, A.LABEL: SIGNER_LABEL})
    if len(found) > 1:
        raise TokenError(
            "signer-ambiguous",
            f"token {token_label} holds {len(found)} keys labelled {SIGNER_LABEL!r}",
            "Keep exactly one ceremony signer on the token; compare with the paper log",
        )
    if not found:
        return None
    ref = KeyRef(SIGNER_LABEL, found[0][A.ID], SIGNER_SPEC)
    keys.check_readback(session, ref, token_label)
    return ref


def signer_public(session, token_label: str) -> bytes | None:
    """The signer's public half as a public session sees it (public objects need no login)."""
    require_hsm_thread()
    found = keys.find_objects(session, {A.CLASS: ObjectClass.PUBLIC_KEY, A.LABEL: SIGNER_LABEL})
    if len(found) > 1:
        raise TokenError(
            "signer-ambiguous",
            f"token {token_label} holds {len(found)} public keys labelled {SIGNER_LABEL!r}",
            "Keep exactly one ceremony signer on the token; compare with the paper log",
        )
    return keys.public_der(found[0]) if found else None


def sign(session, ref: KeyRef, data: bytes, token_label: str) -> bytes:
    require_hsm_thread()
    key = keys.find_one(session, ref, ObjectClass.PRIVATE_KEY, token_label)
    raw = key.sign(hashlib.sha384(data).digest(), mechanism=Mechanism.ECDSA)
    return encode_ecdsa_signature(raw)
