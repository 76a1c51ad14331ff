"""A rehearsal vault: a second SoftHSM token that plays Azure's part in a BYOK import.

It creates the KEK (an RSA key pair whose private half may only unwrap, like a Key Vault key
with key_ops ["import"]), hands out its public key and a kid, and imports a `.byok` ciphertext
with C_UnwrapKey: RSA-OAEP (SHA-1) for the transport key, then AES-KWP for the target. It then
proves the imported key is the ceremony's key: the RSA modulus matches, an ECDSA signature made
by the imported key verifies under the ceremony's public key, or the AES check values match.
Used by the demo and the tests; a stand-in for Azure, never a place for real keys. The token
work of the import is hsm/vault_import.py (every PKCS#11 call lives under ceremony/hsm).
"""

from __future__ import annotations

import base64
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
    load_pem_public_key,
)

from ceremony.errors import VerificationError
from ceremony.hsm.service import HsmService
from ceremony.hsm.templates import Policy
from ceremony.hsm.vault_import import Measured, unwrap_and_measure
from ceremony.keyspec import KeySpec


@dataclass(frozen=True)
class VaultKek:
    kid: str
    public_pem: bytes
    key_id: bytes
    bits: int

    def show_json(self) -> dict:
        """What `az keyvault key show --id KID` prints for this KEK: the key as a JWK with
        standard base64 `n` and `e` and `keyOps` (azure-cli src/azure-cli/azure/cli/
        command_modules/keyvault/_transformers.py, transform_key_output)."""
        numbers = load_pem_public_key(self.public_pem).public_numbers()

        def b64(value: int) -> str:
            return base64.b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).decode()

        return {
            "attributes": {"enabled": True, "exportable": False},
            "key": {"kid": self.kid, "kty": "RSA-HSM", "keyOps": ["import"],
                    "n": b64(numbers.n), "e": b64(numbers.e)},
            "managed": None,
            "tags": None,
        }


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
        digest = hashlib.sha256(os.urandom(32)).digest()
        measured = self.service.in_session(unwrap_and_measure, kek.key_id, kek.bits // 8,
                                           ciphertext, spec, digest)
        return _compare(measured, spec, expected, digest)


def _compare(measured: Measured, spec: KeySpec, expected: str, digest: bytes) -> ImportResult:
    if spec.kind == "aes":
        if measured.kcv != expected:
            raise _mismatch(f"imported AES key has KCV {measured.kcv}, expected {expected}")
        return ImportResult(f"AES key check value {measured.kcv} matches")
    public = load_der_public_key(bytes.fromhex(expected))
    if spec.kind == "rsa":
        if measured.modulus != public.public_numbers().n:
            raise _mismatch("imported RSA key has a different modulus")
        return ImportResult("RSA modulus matches the ceremony's public key")
    try:
        public.verify(measured.signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    except InvalidSignature:
        raise _mismatch("imported EC key's signature fails the ceremony's public key") from None
    return ImportResult("ECDSA signature by the imported key verifies under the public key")
