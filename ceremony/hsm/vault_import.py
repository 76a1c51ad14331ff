"""A rehearsal vault's import, on its token: unwrap a BYOK package as Azure would, then measure.

rehearsal/vault.py plays Azure's part in a rehearsal; the PKCS#11 half of its import is here,
with every other python-pkcs11 call. The package is unwrapped with C_UnwrapKey (RSA-OAEP with
SHA-1 for the transport key, then AES-KWP for the target) into session objects, and the imported
key is measured without extracting it: an AES key's check value, an RSA key's modulus, or an EC
key's signature over a digest the caller chose. The caller compares those with the ceremony's
public facts in software.
"""

from __future__ import annotations

from dataclasses import dataclass

from pkcs11 import DEFAULT, KeyType, Mechanism, ObjectClass
from pkcs11 import Attribute as A
from pkcs11.util.ec import encode_ecdsa_signature

from ceremony.azure.byok import split_ciphertext
from ceremony.hsm import keys
from ceremony.hsm.templates import key_type
from ceremony.hsm.wrap import OAEP_PARAMS
from ceremony.keyspec import KeySpec


@dataclass(frozen=True)
class Measured:
    """What the vault token shows of the imported key; one field is set, by the key's type."""

    kcv: str | None = None  # AES: AES-ECB of a zero block, first 3 bytes, hex
    modulus: int | None = None  # RSA
    signature: bytes | None = None  # EC: DER ECDSA signature over the caller's digest


def unwrap_and_measure(
    session, kek_id: bytes, kek_bytes: int, ciphertext: bytes, spec: KeySpec, digest: bytes,
) -> Measured:
    private = keys.find_objects(session, {A.CLASS: ObjectClass.PRIVATE_KEY, A.ID: kek_id})[0]
    rsa_part, kwp_part = split_ciphertext(ciphertext, kek_bytes)
    transport = private.unwrap_key(
        ObjectClass.SECRET_KEY, KeyType.AES, rsa_part, mechanism=Mechanism.RSA_PKCS_OAEP,
        mechanism_param=OAEP_PARAMS,
        template={A.TOKEN: False, A.SENSITIVE: True, A.EXTRACTABLE: False, A.UNWRAP: True,
                  A.ENCRYPT: False, A.DECRYPT: False, A.WRAP: False, A.SIGN: False,
                  A.VERIFY: False, A.DERIVE: False},
    )
    try:
        imported = _unwrap_target(transport, kwp_part, spec)
    finally:
        transport.destroy()
    try:
        return _measure(imported, spec, digest)
    finally:
        imported.destroy()


def _unwrap_target(transport, kwp_part: bytes, spec: KeySpec):
    common = {A.TOKEN: False, A.SENSITIVE: True, A.EXTRACTABLE: False, A.DERIVE: False}
    if spec.kind == "aes":
        return transport.unwrap_key(
            ObjectClass.SECRET_KEY, KeyType.AES, kwp_part, mechanism=Mechanism.AES_KEY_WRAP_PAD,
            template={**common, A.ENCRYPT: True, A.DECRYPT: False, A.WRAP: False,
                      A.UNWRAP: False, A.SIGN: False, A.VERIFY: False},
        )
    # A private key template must not carry ENCRYPT/WRAP/VERIFY (DESIGN.md section 5).
    return transport.unwrap_key(
        ObjectClass.PRIVATE_KEY, key_type(spec), kwp_part, mechanism=Mechanism.AES_KEY_WRAP_PAD,
        template={**common, A.SIGN: True, A.DECRYPT: False, A.UNWRAP: False,
                  A.ENCRYPT: DEFAULT, A.WRAP: DEFAULT, A.VERIFY: DEFAULT},
    )


def _measure(imported, spec: KeySpec, digest: bytes) -> Measured:
    if spec.kind == "aes":
        # SoftHSM sets no CKA_CHECK_VALUE on unwrapped keys: compute it, AES-ECB of a zero block.
        return Measured(kcv=imported.encrypt(bytes(16), mechanism=Mechanism.AES_ECB)[:3].hex())
    if spec.kind == "rsa":
        return Measured(modulus=int.from_bytes(imported[A.MODULUS], "big"))
    raw = imported.sign(digest, mechanism=Mechanism.ECDSA)
    return Measured(signature=encode_ecdsa_signature(raw))
