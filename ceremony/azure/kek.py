"""KEK intake: the vault's key-exchange key, read from what `az` writes, checked before use.

Everything wrapped in the ceremony is encrypted to this public key, so it is checked here, once,
before the token is touched: RSA 2048/3072/4096 with e = 65537, an `RSA-HSM` key whose only
operation is `import`, a versioned kid, and the same key in every file given. A private key
handed over by mistake is refused without echoing any of it.

Accepted: PEM `PUBLIC KEY` and DER (`az keyvault key download`), PEM `RSA PUBLIC KEY`, and the
JSON of `az keyvault key show` (azure-cli prints `keyOps` and standard base64; the REST API
prints `key_ops` and base64url: both are read).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ceremony import strict_json
from ceremony.azure.kid import Kid, parse_kid
from ceremony.digests import public_der, public_key_fingerprint
from ceremony.errors import BadInputError
from ceremony.files import KiB, read_input
from ceremony.readback import pgp_words

KEK_SIZES = (2048, 3072, 4096)
KEK_FILE_LIMIT = 64 * KiB  # a 4096-bit key as az JSON is under 2 KiB
_CREATE = "Create the KEK with `az keyvault key create --kty RSA-HSM --size 4096 --ops import`"
_DOWNLOAD = "Download the KEK with `az keyvault key download --encoding PEM --file kek.pem`"
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")
_JSON_FORM = "az keyvault key show JSON"


@dataclass(frozen=True)
class Kek:
    """A checked KEK: its kid, public key, SPKI DER and the SHA-256 fingerprint of that DER."""

    kid: Kid
    public_key: rsa.RSAPublicKey
    spki_der: bytes
    bits: int
    fingerprint: str
    source: str

    @property
    def pgp_words(self) -> list[str]:
        return pgp_words(bytes.fromhex(self.fingerprint))


@dataclass(frozen=True)
class RuleOutcome:
    """One KEK rule and how a file fared: passed, failed (with the error load_kek raises), or
    not checked (None) because an earlier rule failed and this one needs what that one found."""

    rule: str
    passed: bool | None
    error: BadInputError | None = None


@dataclass(frozen=True)
class KekCheck:
    outcomes: tuple[RuleOutcome, ...]
    kek: Kek | None  # the checked KEK when every rule passed


@dataclass
class _Intake:
    """What the rules have found so far, each rule building on the ones before it."""

    path: Path
    kid: str | None
    json_path: Path | None
    data: bytes = b""
    key: object = None
    form: str = ""
    kids: list[tuple[str, Path]] = field(default_factory=list)
    agreed: Kid | None = None


def load_kek(path: Path, kid: str | None = None, json_path: Path | None = None) -> Kek:
    """Read and check a KEK; `kid` and the JSON's kid, when both are given, must agree."""
    checked = check_kek(path, kid, json_path)
    if checked.kek is None:
        raise next(outcome.error for outcome in checked.outcomes if outcome.error is not None)
    return checked.kek


def check_kek(path: Path, kid: str | None = None, json_path: Path | None = None) -> KekCheck:
    """Every rule load_kek applies, in its order, each with its outcome; the rules after the
    first failure are not checked."""
    intake = _Intake(path, kid, json_path)
    outcomes: list[RuleOutcome] = []
    for rule, apply in _rules(json_path):
        if outcomes and not outcomes[-1].passed:
            outcomes.append(RuleOutcome(rule, None))
            continue
        try:
            apply(intake)
        except BadInputError as error:
            outcomes.append(RuleOutcome(rule, False, error))
        else:
            outcomes.append(RuleOutcome(rule, True))
    if not all(outcome.passed for outcome in outcomes):
        return KekCheck(tuple(outcomes), None)
    sources = [f"{path} ({intake.form})"]
    if json_path is not None:
        sources.append(f"{json_path} ({_JSON_FORM})")
    spki = public_der(intake.key)
    return KekCheck(tuple(outcomes), Kek(
        kid=intake.agreed, public_key=intake.key, spki_der=spki, bits=intake.key.key_size,
        fingerprint=public_key_fingerprint(spki), source="; ".join(sources),
    ))


def _rules(json_path: Path | None):
    """The rules as (what it asks, how it is checked), in the order they are applied."""
    key_rules = [(rule, _on_key(check)) for rule, check in KEY_RULES]
    same = [("the az JSON file is a KEK and holds the same public key", _same_in_json)]
    return [
        ("the file can be read", _read_file),
        ("it holds one public key (PEM, DER or az JSON), no private key", _parse),
        *key_rules,
        *(same if json_path is not None else []),
        ("a versioned Key Vault kid, the same wherever it is given", _kid),
    ]


def _read_file(intake: _Intake) -> None:
    intake.data = _read(intake.path)


def _parse(intake: _Intake) -> None:
    intake.key, intake.form, json_kid = _load(intake.data, intake.path)
    if json_kid is not None:
        intake.kids.append((json_kid, intake.path))


def _on_key(check):
    def apply(intake: _Intake) -> None:
        check(intake.key, intake.path)
    return apply


def _same_in_json(intake: _Intake) -> None:
    json_path = intake.json_path
    other, other_kid = _from_json(_read(json_path), json_path)
    _checked(other, json_path)
    if other.public_numbers() != intake.key.public_numbers():
        raise BadInputError(
            "kek-pem-json-mismatch",
            f"KEK files {intake.path} and {json_path} hold different public keys",
            "Take both from the same key version: `az keyvault key download --id <kid>` "
            "and `az keyvault key show --id <kid>`",
        )
    intake.kids.append((other_kid, json_path))


def _kid(intake: _Intake) -> None:
    intake.agreed = _agreed_kid(intake.kid, intake.kids, intake.path)


def _read(path: Path) -> bytes:
    try:
        return read_input(path, "KEK file", KEK_FILE_LIMIT)
    except OSError as err:
        raise BadInputError(
            "kek-file-unreadable",
            f"KEK file {path} cannot be read: {err.strerror or err}",
            "Check the path to the KEK file copied from the online workstation",
        ) from None


def _load(data: bytes, path: Path) -> tuple[object, str, str | None]:
    """The public key, the form it came in, and the kid when the file is JSON."""
    if not data.strip():
        raise BadInputError("kek-empty", f"KEK file {path} is empty", _DOWNLOAD)
    if b"PRIVATE KEY" in data:
        raise _private(path)
    if b"-----BEGIN" in data:
        key, label = _from_pem(data, path)
        return key, f"PEM {label}", None
    if _looks_like_json(data):
        key, json_kid = _from_json(data, path)
        return key, _JSON_FORM, json_kid
    try:
        key = serialization.load_der_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        if _is_private_der(data):
            raise _private(path) from None
        raise BadInputError(
            "kek-not-a-key",
            f"KEK file {path} is neither a PEM or DER public key nor `az keyvault key show` JSON",
            _DOWNLOAD,
        ) from None
    return key, "DER public key", None


def _from_pem(data: bytes, path: Path) -> tuple[object, str]:
    blocks = _PEM_BLOCK.findall(data)
    if len(blocks) > 1:  # which one would be used is up to the parser: refuse the choice
        raise BadInputError(
            "kek-several-keys",
            f"KEK file {path} holds {len(blocks)} PEM blocks "
            f"({', '.join(label.decode() for label in blocks)}); a KEK file holds one public key",
            "Keep the one KEK `az keyvault key download` wrote, alone in its file",
        )
    match = _PEM_BLOCK.search(data)
    if match is None:
        raise _damaged(path, "a damaged PEM header")
    label = match.group(1).decode()
    if f"-----END {label}-----".encode() not in data[match.end() :]:
        raise BadInputError(
            "kek-pem-truncated",
            f"KEK file {path} holds a truncated PEM {label} block (no END line)",
            "Copy the KEK file again; it was cut short",
        )
    if label not in ("PUBLIC KEY", "RSA PUBLIC KEY"):
        raise BadInputError(
            "kek-pem-label",
            f"KEK file {path} holds a PEM {label} block, not a PUBLIC KEY",
            _DOWNLOAD,
        )
    try:
        return serialization.load_pem_public_key(data), label
    except (ValueError, UnsupportedAlgorithm):
        raise _damaged(path, f"a damaged PEM {label} block") from None


def _looks_like_json(data: bytes) -> bool:
    """An object in UTF-8, -16 or -32, with or without a BOM (PowerShell's `>` writes UTF-16)."""
    try:
        text = data.decode(json.detect_encoding(data))
    except UnicodeDecodeError:
        return False
    return text.lstrip("\ufeff \t\r\n")[:1] == "{"


def _from_json(data: bytes, path: Path) -> tuple[object, str]:
    try:
        document = strict_json.loads(data)
    except strict_json.Ambiguous as err:
        raise _bad_json(path, err.problem) from None
    except (ValueError, RecursionError):  # UnicodeDecodeError, JSONDecodeError, deep nesting
        raise _bad_json(path, "is not valid JSON") from None
    jwk = document.get("key", document) if isinstance(document, dict) else None
    if not isinstance(jwk, dict) or "kty" not in jwk:
        raise _bad_json(path, "has no key object")
    if jwk.get("d"):
        raise _private(path)
    if jwk["kty"] != "RSA-HSM":
        raise BadInputError(
            "kek-json-kty",
            f"KEK file {path} has kty {json.dumps(jwk['kty'])}; a KEK is RSA-HSM",
            _CREATE,
        )
    ops = jwk.get("keyOps", jwk.get("key_ops"))
    if ops != ["import"]:
        raise BadInputError(
            "kek-key-ops",
            f'KEK file {path} has key_ops {json.dumps(ops)}; a KEK allows exactly ["import"]',
            _CREATE,
        )
    if not isinstance(jwk.get("kid"), str):
        raise _bad_json(path, "has no key.kid")
    try:
        numbers = rsa.RSAPublicNumbers(_b64_int(jwk.get("e")), _b64_int(jwk.get("n")))
        key = numbers.public_key()
    except (TypeError, ValueError, binascii.Error):
        raise _bad_json(path, "has no valid base64 key.n and key.e") from None
    return key, jwk["kid"]


def _b64_int(value: object) -> int:
    """An unsigned big-endian integer from base64 or base64url, padded or not."""
    if not isinstance(value, str) or not value:
        raise ValueError("not a base64 string")
    text = value.replace("-", "+").replace("_", "/").rstrip("=")
    return int.from_bytes(base64.b64decode(text + "=" * (-len(text) % 4), validate=True), "big")


def _rsa(key: object, path: Path) -> None:
    if not isinstance(key, rsa.RSAPublicKey):
        if isinstance(key, ec.EllipticCurvePublicKey):
            kind = f"EC {key.curve.name}"
        else:
            kind = type(key).__name__.removesuffix("PublicKey")
        raise BadInputError(
            "kek-not-rsa", f"KEK file {path} holds a non-RSA key ({kind}); a KEK is RSA", _CREATE
        )


def _size(key: rsa.RSAPublicKey, path: Path) -> None:
    if key.key_size not in KEK_SIZES:
        raise BadInputError(
            "kek-size",
            f"KEK file {path} holds a {key.key_size}-bit RSA key; a KEK is 2048, 3072 or 4096 bits",
            _CREATE,
        )


def _exponent(key: rsa.RSAPublicKey, path: Path) -> None:
    exponent = key.public_numbers().e
    if exponent != 65537:
        raise BadInputError(
            "kek-exponent",
            f"KEK file {path} holds an RSA key with public exponent {exponent}; a KEK uses 65537",
            _CREATE,
        )


# What a KEK's public key must be, each rule applied in turn (a later one needs an RSA key).
KEY_RULES = (
    ("the key is RSA", _rsa),
    ("2048, 3072 or 4096 bits", _size),
    ("public exponent 65537", _exponent),
)


def _checked(key: object, path: Path) -> rsa.RSAPublicKey:
    for _, check in KEY_RULES:
        check(key, path)
    return key


def _agreed_kid(kid: str | None, found: list[tuple[str, Path]], path: Path) -> Kid:
    agreed = parse_kid(kid) if kid is not None else None
    for text, where in found:
        parsed = parse_kid(text)
        if agreed is None:
            agreed = parsed
        elif parsed.url != agreed.url:
            raise BadInputError(
                "kek-kid-mismatch",
                f"KEK kid {agreed.url} differs from {parsed.url} in {where}",
                "Use the kid that `az keyvault key show` prints for the same key version",
            )
    if agreed is None:
        raise BadInputError(
            "kek-kid-missing",
            f"KEK file {path} comes without a kid",
            "Give the KEK's versioned kid, or the JSON that `az keyvault key show` prints",
        )
    return agreed


def _is_private_der(data: bytes) -> bool:
    try:
        serialization.load_der_private_key(data, password=None)
    except TypeError:  # an encrypted private key: still a private key
        return True
    except (ValueError, UnsupportedAlgorithm):
        return False
    return True


def _private(path: Path) -> BadInputError:
    return BadInputError(
        "kek-private-key",
        f"KEK file {path} holds a private key; a KEK file holds the vault's public key only",
        "Remove the private key from the media; " + _DOWNLOAD,
    )


def _damaged(path: Path, what: str) -> BadInputError:
    return BadInputError("kek-pem-invalid", f"KEK file {path} holds {what}", _DOWNLOAD)


def _bad_json(path: Path, what: str) -> BadInputError:
    return BadInputError(
        "kek-json-invalid",
        f"KEK file {path} {what}",
        "Save the output of `az keyvault key show --id <kid>` as it is printed",
    )
