"""A reference wrap and two unwraps that are not the code under test.

`wrap_for_test` makes packages the way the HSM should (it exists only here, never in the
core). A package is good only when something other than this project's code opens it
(DESIGN.md section 7): `unwrap_with_cryptography` is written out separately from
`ceremony.azure.byok.software_unwrap`, and `unwrap_with_openssl` drives the openssl CLI.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import (
    aes_key_unwrap_with_padding,
    aes_key_wrap_with_padding,
)

OPENSSL = "/usr/bin/openssl"
# openssl enc pushes data through a 4096-byte cipher BIO buffer; a wrap mode must see the
# whole input at once, so larger AES-KWP blobs fail there (measured with OpenSSL 3.0.19).
OPENSSL_ENC_MAX_KWP = 4096


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)


def wrap_for_test(
    kek_public_key: rsa.RSAPublicKey, target_plain: bytes, aes_key: bytes | None = None
) -> bytes:
    """RSA-OAEP(KEK, AES key) || AES-KWP(AES key, target), with a fresh 256-bit AES key."""
    aes_key = os.urandom(32) if aes_key is None else aes_key
    return kek_public_key.encrypt(aes_key, _oaep()) + aes_key_wrap_with_padding(
        aes_key, target_plain
    )


def unwrap_with_cryptography(private_key: rsa.RSAPrivateKey, ciphertext: bytes) -> bytes:
    size = private_key.key_size // 8
    aes_key = private_key.decrypt(ciphertext[:size], _oaep())
    return aes_key_unwrap_with_padding(aes_key, ciphertext[size:])


def unwrap_with_openssl(private_key_pem_path: Path, ciphertext: bytes, workdir: Path) -> bytes:
    """Unwrap with `openssl pkeyutl` (RSA-OAEP SHA-1) and `openssl enc -id-aes256-wrap-pad`."""
    modulus = _openssl("rsa", "-in", str(private_key_pem_path), "-noout", "-modulus")
    size = len(modulus.decode().strip().removeprefix("Modulus=")) // 2
    rsa_part, kwp_part = ciphertext[:size], ciphertext[size:]
    if len(kwp_part) > OPENSSL_ENC_MAX_KWP:
        raise ValueError(f"openssl enc cannot unwrap {len(kwp_part)} bytes of AES-KWP at once")
    (workdir / "rsa-part.bin").write_bytes(rsa_part)
    (workdir / "kwp-part.bin").write_bytes(kwp_part)
    aes_key = _openssl(
        "pkeyutl", "-decrypt", "-inkey", str(private_key_pem_path),
        "-in", str(workdir / "rsa-part.bin"),
        "-pkeyopt", "rsa_padding_mode:oaep",
        "-pkeyopt", "rsa_oaep_md:sha1",
        "-pkeyopt", "rsa_mgf1_md:sha1",
    )  # fmt: skip
    # The RFC 5649 alternative IV is A65959A6; openssl enc needs it given explicitly.
    return _openssl(
        "enc", "-d", "-id-aes256-wrap-pad", "-K", aes_key.hex(), "-iv", "A65959A6",
        "-in", str(workdir / "kwp-part.bin"),
    )  # fmt: skip


def _openssl(*args: str) -> bytes:
    done = subprocess.run([OPENSSL, *args], capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout
