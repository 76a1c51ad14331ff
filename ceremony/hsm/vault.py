"""A rehearsal vault: a second SoftHSM token that plays Azure's part in a BYOK import.

It creates the KEK (an RSA key pair whose private half may only unwrap, like a Key Vault key
with key_ops ["import"]), hands out its public key and a kid, and imports a `.byok` ciphertext
with C_UnwrapKey: RSA-OAEP (SHA-1) for the transport key, then AES-KWP for the target. It then
proves the imported key is the ceremony's key: the RSA modulus matches, an ECDSA signature made
by the imported key verifies under the ceremony's public key, or the AES check values match.
Used by the demo and the tests; a stand-in for Azure, never a place for real keys.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)
from pkcs11 import DEFAULT, KeyType, Mechanism, ObjectClass
from pkcs11 import Attribute as A
from pkcs11.util.ec import encode_ecdsa_signature

from ceremony.azure.byok import split_ciphertext
from ceremony.errors import VerificationError
from ceremony.hsm import keys
from ceremony.hsm.service import HsmService
from ceremony.hsm.templates import Policy, key_type
from ceremony.hsm.wrap import OAEP_PARAMS
from ceremony.keyspec import KeySpec


@dataclass(frozen=True)
class VaultKek:
    kid: str
    public_pem: bytes
    key_id: bytes
    bits: int


@dataclass(frozen=True)
class ImportResult:
    """The imported key matched the ceremony's key; `evidence` says how that was shown."""

    evidence: str


def _mismatch(what: str) -> VerificationError:
    return VerificationError(
        "vault-import-mismatch", f"rehearsal vault: {what}",
        "The package does not carry the ceremony's key; do not import it into Azure",
    )


class RehearsalVault:
    def __init__(self, service: HsmService, vault_name: str = "rehearsal-vault") -> None:
        self.service = service
        self.vault_name = vault_name

    def create_kek(self, name: str, bits: int = 4096) -> VaultKek:
        ref = self.service.generate(KeySpec("rsa", bits), name, Policy.UNWRAPPER)
        der = self.service.facts(ref).public_der
        pem = load_der_public_key(der).public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        kid = f"https://{self.vault_name}.vault.azure.net/keys/{name}/{ref.key_id.hex()}"
        return VaultKek(kid, pem, ref.key_id, bits)

    def import_byok(
        self, kek: VaultKek, ciphertext: bytes, spec: KeySpec, expected: str,
    ) -> ImportResult:
        """Import and compare with `expected`: the SPKI DER hex (RSA, EC) or the KCV hex (AES)."""
        return self.service.in_session(_import, kek, ciphertext, spec, expected)


def _import(session, kek: VaultKek, ciphertext: bytes, spec: KeySpec, expected: str):
    private = keys.find_objects(session, {A.CLASS: ObjectClass.PRIVATE_KEY, A.ID: kek.key_id})[0]
    rsa_part, kwp_part = split_ciphertext(ciphertext, kek.bits // 8)
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
        return _compare(imported, spec, expected)
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


def _compare(imported, spec: KeySpec, expected: str) -> ImportResult:
    if spec.kind == "aes":
        # SoftHSM sets no CKA_CHECK_VALUE on unwrapped keys: compute it, AES-ECB of a zero block.
        kcv = imported.encrypt(bytes(16), mechanism=Mechanism.AES_ECB)[:3].hex()
        if kcv != expected:
            raise _mismatch(f"imported AES key has KCV {kcv}, expected {expected}")
        return ImportResult(f"AES key check value {kcv} matches")
    public = load_der_public_key(bytes.fromhex(expected))
    if spec.kind == "rsa":
        modulus = int.from_bytes(imported[A.MODULUS], "big")
        if modulus != public.public_numbers().n:
            raise _mismatch("imported RSA key has a different modulus")
        return ImportResult("RSA modulus matches the ceremony's public key")
    digest = hashlib.sha256(os.urandom(32)).digest()
    raw = imported.sign(digest, mechanism=Mechanism.ECDSA)
    try:
        public.verify(encode_ecdsa_signature(raw), digest,
                      ec.ECDSA(Prehashed(hashes.SHA256())))
    except InvalidSignature:
        raise _mismatch("imported EC key's signature fails the ceremony's public key") from None
    return ImportResult("ECDSA signature by the imported key verifies under the public key")
