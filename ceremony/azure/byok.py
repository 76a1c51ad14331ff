"""The `.byok` package: its exact bytes, its parsing, and its check in software.

azure-cli sends the file's bytes to Key Vault as they are, so the JSON is built here, in one
place, field for field (Azure Key Vault BYOK specification): ciphertext = RSA-OAEP(KEK, AES key)
|| AES-KWP(AES key, target), OAEP with SHA-1, MGF1-SHA-1 and no label, KWP per RFC 5649.
Parsing and the software unwrap let the ceremony verify what it wrote without the HSM.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap_with_padding

from ceremony import strict_json
from ceremony.azure.kek import Kek
from ceremony.azure.kid import Kid, parse_kid
from ceremony.errors import BadInputError, VerificationError

SCHEMA_VERSION = "1.0.0"
ALG = "dir"
ENC = "CKM_RSA_AES_KEY_WRAP"
_FIELDS = ("schema_version", "header", "ciphertext", "generator")
_HEADER_FIELDS = ("kid", "alg", "enc")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_REWRAP = "Wrap the key again with the KEK of the vault it is meant for"


@dataclass(frozen=True)
class ByokPackage:
    """The parts of a parsed `.byok` file."""

    kid: str
    ciphertext: bytes
    generator: str


def generator_string(tool_version: str, manufacturer: str, model: str, firmware: str) -> str:
    """The `generator` field: this tool and the HSM that wrapped the key."""
    return f"cmk-ceremony {tool_version}; {manufacturer.strip()} {model.strip()} fw {firmware}"


def build_byok(kid: Kid, ciphertext: bytes, generator: str) -> bytes:
    """The exact `.byok` bytes: one JSON object, fields in the specification's order."""
    document = {
        "schema_version": SCHEMA_VERSION,
        "header": {"kid": kid.url, "alg": ALG, "enc": ENC},
        "ciphertext": base64.urlsafe_b64encode(ciphertext).rstrip(b"=").decode("ascii"),
        "generator": generator,
    }
    return json.dumps(document).encode("ascii")


def parse_byok(data: bytes, source: str) -> ByokPackage:
    """Parse and check the structure of a `.byok` file; `source` names it in errors."""
    document = _json_document(data, source)
    _exact_fields(document, _FIELDS, source, "")
    _exact_fields(document["header"], _HEADER_FIELDS, source, "header")
    _check_constants(document, source)
    kid = document["header"]["kid"]
    _check_kid(kid, source)
    return ByokPackage(kid=kid, ciphertext=_ciphertext(document["ciphertext"], source),
                       generator=_generator(document["generator"], source))


def _json_document(data: bytes, source: str):
    try:
        return strict_json.loads(data)
    except strict_json.DuplicateMember as err:
        raise _bad(source, "byok-fields", f"has field {err.name} twice") from None
    except strict_json.Ambiguous as err:
        raise _bad(source, "byok-not-json", err.problem) from None
    except (ValueError, RecursionError):  # UnicodeDecodeError, JSONDecodeError, deep nesting
        raise _bad(source, "byok-not-json", "is not valid JSON") from None


def _check_constants(document: dict, source: str) -> None:
    header = document["header"]
    for code, name, value, expected in (
        ("byok-schema-version", "schema_version", document["schema_version"], SCHEMA_VERSION),
        ("byok-alg", "header alg", header["alg"], ALG),
        ("byok-enc", "header enc", header["enc"], ENC),
    ):
        if value != expected:
            raise _bad(
                source, code, f"has {name} {json.dumps(value)}, expected {json.dumps(expected)}"
            )


def _check_kid(kid: object, source: str) -> None:
    if not isinstance(kid, str):
        raise _bad(source, "byok-kid-invalid", "has a header kid that is not a string")
    try:
        canonical = parse_kid(kid).url
    except BadInputError as err:
        raise BadInputError(
            "byok-kid-invalid", f"BYOK file {source} header: {err.message}", err.hint
        ) from None
    if kid != canonical:
        # This tool writes the canonical kid; anything else was written by someone else.
        raise _bad(source, "byok-kid-invalid",
                   f"has header kid {json.dumps(kid)}, which is not written as {canonical}")


def _ciphertext(text: object, source: str) -> bytes:
    if not isinstance(text, str) or not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise _bad(source, "byok-ciphertext", "has a ciphertext that is not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _generator(generator: object, source: str) -> str:
    if not isinstance(generator, str) or not generator.strip():
        raise _bad(source, "byok-generator", "has an empty or non-text generator")
    return generator


# What no check in software can show: only the KEK's private key, in the vault, unwraps it.
NOT_PROVEN = ("that this KEK wrapped the package and that it unwraps to the intended key; only "
              "the KEK's private key can show that, and the vault checks it at import")


def check_against_kek(pkg: ByokPackage, kek: Kek) -> tuple[int, int]:
    """Raise byok-kek-mismatch unless the package was made for this KEK, as far as can be seen
    without its private key (NOT_PROVEN); return the RSA-OAEP and AES-KWP parts' lengths.

    The RSA part is as long as the KEK's modulus; what follows must be AES-KWP (16 bytes or
    more, in steps of 8), and the RSA part, read as a number, must be below the modulus.
    """
    if parse_kid(pkg.kid).url != kek.kid.url:
        raise BadInputError(
            "byok-kek-mismatch", f"BYOK kid {pkg.kid} is not the KEK kid {kek.kid.url}", _REWRAP
        )
    rsa_part, kwp_part = split_ciphertext(pkg.ciphertext, (kek.bits + 7) // 8)
    if int.from_bytes(rsa_part, "big") >= kek.public_key.public_numbers().n:
        raise BadInputError(
            "byok-kek-mismatch",
            f"BYOK RSA part is not below the modulus of KEK {kek.kid.url}",
            _REWRAP,
        )
    return len(rsa_part), len(kwp_part)


def split_ciphertext(ct: bytes, kek_bytes: int) -> tuple[bytes, bytes]:
    """Split into the RSA-OAEP part (`kek_bytes` long) and the AES-KWP part."""
    kwp_length = len(ct) - kek_bytes
    if kwp_length < 16 or kwp_length % 8:
        raise BadInputError(
            "byok-kek-mismatch",
            f"BYOK ciphertext of {len(ct)} bytes does not fit a {kek_bytes * 8}-bit KEK: "
            f"it needs {kek_bytes} bytes of RSA-OAEP, then AES-KWP in a multiple of 8 bytes "
            "(at least 16)",
            _REWRAP,
        )
    return ct[:kek_bytes], ct[kek_bytes:]


def software_unwrap(kek_private_key: rsa.RSAPrivateKey, ciphertext: bytes) -> bytes:
    """Undo the wrap with a KEK private key held in software (self-test and tests only).

    Every failure is a VerificationError: what did not unwrap was made by the token.
    """
    try:
        rsa_part, kwp_part = split_ciphertext(ciphertext, (kek_private_key.key_size + 7) // 8)
    except BadInputError as err:
        raise _unwrap_failed(err.message) from None
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    try:
        aes_key = kek_private_key.decrypt(rsa_part, oaep)
    except ValueError:
        raise _unwrap_failed("RSA-OAEP (SHA-1, MGF1-SHA-1) decryption failed") from None
    if len(aes_key) != 32:
        raise _unwrap_failed(f"the transport key is {len(aes_key)} bytes, not a 256-bit AES key")
    try:
        return aes_key_unwrap_with_padding(aes_key, kwp_part)
    except InvalidUnwrap:
        raise _unwrap_failed("the AES-KWP integrity check failed") from None


def zero_padding(expected: bytes, unwrapped: bytes) -> int:
    """How many zero bytes (1-7, up to a multiple of 8) the token appended; 0 when equal.

    SoftHSM 2.6.1 pads the key blob with zeros before AES-KWP (DESIGN.md section 5); anything
    else that differs is a VerificationError.
    """
    if unwrapped == expected:
        return 0
    added = len(unwrapped) - len(expected)
    if (
        0 < added == -len(expected) % 8
        and unwrapped.startswith(expected)
        and not any(unwrapped[len(expected) :])
    ):
        return added
    raise VerificationError(
        "byok-unwrap-mismatch",
        f"the unwrapped key material ({len(unwrapped)} bytes) is not the expected "
        f"{len(expected)} bytes, even allowing for zero padding",
        "Do not import this package; run the self-test and the wrap again",
    )


def _exact_fields(value: object, fields: tuple[str, ...], source: str, where: str) -> None:
    if not isinstance(value, dict):
        raise _bad(source, "byok-fields", f"has a {where or 'top level'} that is not an object")
    prefix = f"{where} " if where else ""
    missing = [name for name in fields if name not in value]
    extra = sorted(name for name in value if name not in fields)
    if missing or extra:
        problems = [f"lacks {prefix}field {name}" for name in missing]
        problems += [f"has unexpected {prefix}field {name}" for name in extra]
        raise _bad(source, "byok-fields", " and ".join(problems))


def _bad(source: str, code: str, what: str) -> BadInputError:
    return BadInputError(code, f"BYOK file {source} {what}", "Make the package again")


def _unwrap_failed(what: str) -> VerificationError:
    return VerificationError(
        "byok-unwrap-failed",
        f"the package does not unwrap with the test KEK: {what}",
        "Do not import packages from this token; check the wrap mechanisms and the KEK",
    )
