"""Test helpers shared by the Azure tests: keys made once per session, files they are kept in.

RSA 4096 generation takes around a second, so every key is made once per process and reused;
tests that need a fresh key of their own make it themselves.
"""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

VERSION = "0123456789abcdef0123456789abcdef"
VAULT_KID = f"https://contoso-kv.vault.azure.net/keys/ceremony-kek/{VERSION}"
HSM_KID = f"https://contoso-hsm.managedhsm.azure.net/keys/ceremony-kek/{VERSION}"

CURVES = {
    "P-256": ec.SECP256R1,
    "P-384": ec.SECP384R1,
    "P-521": ec.SECP521R1,
    "P-256K": ec.SECP256K1,
}


@cache
def rsa_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@cache
def ec_key(curve: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(CURVES[curve]())


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def pkcs8_der(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def ceremony_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`python -m ceremony ARGS` in a process of its own, its output captured."""
    return subprocess.run([sys.executable, "-m", "ceremony", *args], env=env,
                          capture_output=True, text=True)
