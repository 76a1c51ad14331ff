"""Explicit PKCS#11 templates for every key the tool creates; never library defaults.

A target key (one that will be exported as a BYOK package) is a private, sensitive token
object whose only purpose on the token is to be wrapped: no usage flags, extractable so the
HSM can wrap it, and, under the trusted policy, CKA_WRAP_WITH_TRUSTED so only a key the
security officer marked CKA_TRUSTED can wrap it. MODIFIABLE is false, so the attributes the
record shows are the attributes the key keeps. The ceremony signer never leaves the token.
"""

from __future__ import annotations

from enum import Enum

from pkcs11 import Attribute as A
from pkcs11 import KeyType, ObjectClass

from ceremony.keyspec import KeySpec

CURVE_NAMES = {
    "P-256": "secp256r1",
    "P-384": "secp384r1",
    "P-521": "secp521r1",
    "P-256K": "secp256k1",
}

USAGE = (A.ENCRYPT, A.DECRYPT, A.WRAP, A.UNWRAP, A.SIGN, A.VERIFY, A.DERIVE)
PUBLIC_USAGE = (A.ENCRYPT, A.WRAP, A.VERIFY, A.DERIVE)
PRIVATE_USAGE = (A.DECRYPT, A.UNWRAP, A.SIGN, A.DERIVE)


class Policy(Enum):
    """How a key may leave the token, if at all."""

    TRUSTED = "trusted"  # wrappable only by a CKA_TRUSTED key (needs the SO once per export)
    EXTRACTABLE = "extractable"  # wrappable by any wrapping key (tokens without trusted wrap)
    SIGNER = "signer"  # never leaves the token; signs ceremony records
    UNWRAPPER = "unwrapper"  # never leaves the token; the rehearsal vault's KEK (import only)


def key_type(spec: KeySpec) -> KeyType:
    return {"rsa": KeyType.RSA, "ec": KeyType.EC, "aes": KeyType.AES}[spec.kind]


def _common(label: str, key_id: bytes) -> dict:
    return {A.TOKEN: True, A.LABEL: label, A.ID: key_id, A.MODIFIABLE: False}


def _secret_part(policy: Policy) -> dict:
    exportable = policy in (Policy.TRUSTED, Policy.EXTRACTABLE)
    return {
        A.PRIVATE: True,
        A.SENSITIVE: True,
        A.EXTRACTABLE: exportable,
        A.WRAP_WITH_TRUSTED: policy is Policy.TRUSTED,
    }


def private_template(spec: KeySpec, label: str, key_id: bytes, policy: Policy) -> dict:
    template = {**_common(label, key_id), **_secret_part(policy)}
    template[A.CLASS] = ObjectClass.PRIVATE_KEY
    template[A.KEY_TYPE] = key_type(spec)
    template.update({attr: False for attr in PRIVATE_USAGE})
    template[A.SIGN] = policy is Policy.SIGNER
    template[A.UNWRAP] = policy is Policy.UNWRAPPER
    return template


def public_template(spec: KeySpec, label: str, key_id: bytes, ec_params: bytes | None) -> dict:
    template = {**_common(label, key_id), A.PRIVATE: False}
    template[A.CLASS] = ObjectClass.PUBLIC_KEY
    template[A.KEY_TYPE] = key_type(spec)
    template.update({attr: False for attr in PUBLIC_USAGE})
    if spec.kind == "rsa":
        template[A.MODULUS_BITS] = spec.size
        template[A.PUBLIC_EXPONENT] = b"\x01\x00\x01"
    else:
        template[A.EC_PARAMS] = ec_params
    return template


def secret_template(spec: KeySpec, label: str, key_id: bytes, policy: Policy) -> dict:
    template = {**_common(label, key_id), **_secret_part(policy)}
    template[A.CLASS] = ObjectClass.SECRET_KEY
    template[A.KEY_TYPE] = KeyType.AES
    template[A.VALUE_LEN] = spec.size // 8
    template.update({attr: False for attr in USAGE})
    return template
