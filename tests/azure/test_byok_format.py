"""The `.byok` bytes, their parsing, the KEK fit check, and unwraps that are not this code."""

import base64
import json
import subprocess

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from ceremony.azure.byok import (
    ByokPackage,
    build_byok,
    check_against_kek,
    generator_string,
    parse_byok,
    software_unwrap,
    split_ciphertext,
    zero_padding,
)
from ceremony.azure.kek import load_kek
from ceremony.azure.kid import parse_kid
from ceremony.errors import BadInputError, ExitCode, VerificationError
from tests.support import VAULT_KID, ec_key, pkcs8_der, public_pem, rsa_key, write
from tests.support.unwrap import unwrap_with_cryptography, unwrap_with_openssl, wrap_for_test

GENERATOR = "cmk-ceremony 0.1.0; SoftHSM project SoftHSM v2 fw 2.6"
REMAKE = "Make the package again"
REWRAP = "Wrap the key again with the KEK of the vault it is meant for"


def kek_for(tmp_path, bits, kid=VAULT_KID):
    return load_kek(write(tmp_path / f"kek{bits}.pem", public_pem(rsa_key(bits))), kid=kid)


def private_pem_path(tmp_path, bits):
    key = rsa_key(bits)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return write(tmp_path / f"kek{bits}.key.pem", pem)


def refused(data, source="pkg.byok") -> BadInputError:
    with pytest.raises(BadInputError) as caught:
        parse_byok(data, source)
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    return caught.value


# ---------------------------------------------------------------- building


def test_generator_string():
    made = generator_string("0.1.0", "SoftHSM project                 ", "SoftHSM v2      ", "2.6")
    assert made == GENERATOR


def test_exact_bytes():
    data = build_byok(parse_kid(VAULT_KID), bytes([0xFB, 0xFF, 0xBF, 0x00, 0x01]), GENERATOR)
    assert data == (
        b'{"schema_version": "1.0.0", "header": {"kid": "' + VAULT_KID.encode() + b'", '
        b'"alg": "dir", "enc": "CKM_RSA_AES_KEY_WRAP"}, "ciphertext": "-_-_AAE", '
        b'"generator": "' + GENERATOR.encode() + b'"}'
    )
    assert list(json.loads(data)) == ["schema_version", "header", "ciphertext", "generator"]


def test_round_trip(tmp_path):
    blob = wrap_for_test(rsa_key(2048).public_key(), pkcs8_der(ec_key("P-256")))
    data = build_byok(parse_kid(VAULT_KID), blob, GENERATOR)
    assert b"=" not in json.loads(data)["ciphertext"].encode()
    assert parse_byok(data, "x.byok") == ByokPackage(VAULT_KID, blob, GENERATOR)


# ---------------------------------------------------------------- parsing


def good_document():
    return json.loads(build_byok(parse_kid(VAULT_KID), bytes(range(40)), GENERATOR))


def edited(**changes):
    document = good_document()
    for path, value in changes.items():
        *parents, name = path.split("__")
        target = document
        for parent in parents:
            target = target[parent]
        if value is KeyError:
            del target[name]
        else:
            target[name] = value
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("data", "code", "what"),
    [
        (b"\xff\xfe", "byok-not-json", "is not valid JSON"),
        (b"{", "byok-not-json", "is not valid JSON"),
        (b"[]", "byok-fields", "has a top level that is not an object"),
        (edited(generator=KeyError), "byok-fields", "lacks field generator"),
        (edited(extra=1), "byok-fields", "has unexpected field extra"),
        (edited(header__alg=KeyError, header__x=1), "byok-fields",
         "lacks header field alg and has unexpected header field x"),
        (edited(header=[]), "byok-fields", "has a header that is not an object"),
        (edited(schema_version="2.0.0"), "byok-schema-version",
         'has schema_version "2.0.0", expected "1.0.0"'),
        (edited(header__alg="RSA-OAEP"), "byok-alg", 'has header alg "RSA-OAEP", expected "dir"'),
        (edited(header__enc="A256KW"), "byok-enc",
         'has header enc "A256KW", expected "CKM_RSA_AES_KEY_WRAP"'),
        (edited(header__kid=7), "byok-kid-invalid", "has a header kid that is not a string"),
        (edited(ciphertext="AAAA=="), "byok-ciphertext",
         "has a ciphertext that is not unpadded base64url"),
        (edited(ciphertext="ab+/"), "byok-ciphertext",
         "has a ciphertext that is not unpadded base64url"),
        (edited(ciphertext="abcde"), "byok-ciphertext",
         "has a ciphertext that is not unpadded base64url"),
        (edited(ciphertext=""), "byok-ciphertext",
         "has a ciphertext that is not unpadded base64url"),
        (edited(generator=" "), "byok-generator", "has an empty or non-text generator"),
    ],
)  # fmt: skip
def test_structure_refusals(data, code, what):
    err = refused(data)
    assert err.code == code
    assert err.line() == f"ceremony: error: BYOK file pkg.byok {what}. {REMAKE}"


def test_duplicate_field_refused():
    kid = VAULT_KID.replace("contoso-kv", "fabrikam-kv")
    data = edited().replace(b'{"kid": ', b'{"kid": "' + kid.encode() + b'", "kid": ', 1)
    err = refused(data)
    assert err.code == "byok-fields"
    assert err.line() == f"ceremony: error: BYOK file pkg.byok has field kid twice. {REMAKE}"


def test_unversioned_kid_in_header():
    kid = VAULT_KID.rsplit("/", 1)[0]
    err = refused(edited(header__kid=kid))
    assert err.code == "byok-kid-invalid"
    assert err.line() == (
        f"ceremony: error: BYOK file pkg.byok header: KEK kid {kid} has no key version. Give "
        "the versioned kid (it ends in /<32 hex digits>), as `az keyvault key show --query "
        "key.kid` prints it"
    )


@pytest.mark.parametrize("kid", [f" {VAULT_KID}", VAULT_KID.replace("https", "HTTPS"),
                                 VAULT_KID.replace("contoso", "CONTOSO")])
def test_a_kid_not_written_as_this_tool_writes_it_is_refused(kid):
    err = refused(edited(header__kid=kid))
    assert err.line() == (
        f"ceremony: error: BYOK file pkg.byok has header kid {json.dumps(kid)}, which is not "
        f"written as {VAULT_KID}. Make the package again"
    )


# ---------------------------------------------------------------- fit to the KEK


def test_fits_its_kek(tmp_path):
    kek = kek_for(tmp_path, 3072)
    blob = wrap_for_test(kek.public_key, b"\x11" * 32)
    check_against_kek(ByokPackage(VAULT_KID, blob, GENERATOR), kek)


def test_kid_differs(tmp_path):
    kek = kek_for(tmp_path, 2048)
    other = VAULT_KID.replace("contoso-kv", "fabrikam-kv")
    pkg = ByokPackage(other, wrap_for_test(kek.public_key, b"\x11" * 32), GENERATOR)
    with pytest.raises(BadInputError) as caught:
        check_against_kek(pkg, kek)
    assert caught.value.line() == (
        f"ceremony: error: BYOK kid {other} is not the KEK kid {VAULT_KID}. {REWRAP}"
    )


def test_rsa_part_does_not_fit_the_kek(tmp_path):
    blob = wrap_for_test(rsa_key(2048).public_key(), b"\x11" * 32)  # 256 + 40 bytes
    with pytest.raises(BadInputError) as caught:
        check_against_kek(ByokPackage(VAULT_KID, blob, GENERATOR), kek_for(tmp_path, 4096))
    assert caught.value.code == "byok-kek-mismatch"
    assert caught.value.line() == (
        "ceremony: error: BYOK ciphertext of 296 bytes does not fit a 4096-bit KEK: it needs "
        "512 bytes of RSA-OAEP, then AES-KWP in a multiple of 8 bytes (at least 16). "
        f"{REWRAP}"
    )


def test_rsa_part_above_the_modulus(tmp_path):
    pkg = ByokPackage(VAULT_KID, b"\xff" * 256 + b"\x00" * 40, GENERATOR)
    with pytest.raises(BadInputError) as caught:
        check_against_kek(pkg, kek_for(tmp_path, 2048))
    assert caught.value.line() == (
        f"ceremony: error: BYOK RSA part is not below the modulus of KEK {VAULT_KID}. {REWRAP}"
    )


@pytest.mark.parametrize("length", [256, 256 + 8, 256 + 20, 100])
def test_split_refuses_what_cannot_be_kwp(length):
    with pytest.raises(BadInputError) as caught:
        split_ciphertext(bytes(length), 256)
    assert caught.value.code == "byok-kek-mismatch"


def test_split():
    assert split_ciphertext(bytes(range(24)) * 12, 256) == (
        (bytes(range(24)) * 12)[:256],
        (bytes(range(24)) * 12)[256:],
    )


# ---------------------------------------------------------------- unwrap, three ways


def targets():
    yield from (("rsa", bits, pkcs8_der(rsa_key(bits))) for bits in (2048, 3072, 4096))
    curves = ("P-256", "P-384", "P-521", "P-256K")
    yield from (("ec", curve, pkcs8_der(ec_key(curve))) for curve in curves)
    yield from (("aes", bits, bytes(range(bits // 8))) for bits in (128, 192, 256))


TARGETS = {f"{kind}-{size}": plain for kind, size, plain in targets()}


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
@pytest.mark.parametrize("target", list(TARGETS))
def test_unwrap_agrees_three_ways(tmp_path, bits, target):
    plain = TARGETS[target]
    blob = wrap_for_test(rsa_key(bits).public_key(), plain)
    assert software_unwrap(rsa_key(bits), blob) == plain
    assert unwrap_with_cryptography(rsa_key(bits), blob) == plain
    assert unwrap_with_openssl(private_pem_path(tmp_path, bits), blob, tmp_path) == plain


def test_unwrap_with_the_wrong_kek():
    blob = wrap_for_test(rsa_key(2048).public_key(), b"\x11" * 32)
    with pytest.raises(VerificationError) as caught:
        software_unwrap(rsa.generate_private_key(65537, 2048), blob)
    assert caught.value.line() == (
        "ceremony: error: the package does not unwrap with the test KEK: RSA-OAEP (SHA-1, "
        "MGF1-SHA-1) decryption failed. Do not import packages from this token; check the wrap "
        "mechanisms and the KEK"
    )


def test_unwrap_of_a_damaged_kwp_part():
    blob = bytearray(wrap_for_test(rsa_key(2048).public_key(), b"\x11" * 32))
    blob[-1] ^= 1
    with pytest.raises(VerificationError) as caught:
        software_unwrap(rsa_key(2048), bytes(blob))
    assert caught.value.code == "byok-unwrap-failed"
    assert "the AES-KWP integrity check failed" in caught.value.line()


def test_unwrap_of_a_blob_that_does_not_fit_the_kek():
    blob = wrap_for_test(rsa_key(2048).public_key(), b"\x11" * 32)
    with pytest.raises(VerificationError) as caught:
        software_unwrap(rsa_key(4096), blob)
    assert caught.value.line() == (
        "ceremony: error: the package does not unwrap with the test KEK: BYOK ciphertext of 296 "
        "bytes does not fit a 4096-bit KEK: it needs 512 bytes of RSA-OAEP, then AES-KWP in a "
        "multiple of 8 bytes (at least 16). Do not import packages from this token; check the "
        "wrap mechanisms and the KEK"
    )


def test_unwrap_refuses_a_short_transport_key():
    blob = wrap_for_test(rsa_key(2048).public_key(), b"\x11" * 32, aes_key=b"\x22" * 16)
    with pytest.raises(VerificationError) as caught:
        software_unwrap(rsa_key(2048), blob)
    assert "the transport key is 16 bytes, not a 256-bit AES key" in caught.value.line()


# ---------------------------------------------------------------- SoftHSM 2.6.1 zero padding


@pytest.mark.parametrize("target", ["ec-P-256", "ec-P-384", "rsa-2048", "aes-128"])
def test_zero_padding_as_softhsm_261_does_it(tmp_path, target):
    plain = TARGETS[target]
    padded = plain + bytes(-len(plain) % 8)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    aes_key = b"\x33" * 32
    rsa_part = rsa_key(2048).public_key().encrypt(aes_key, oaep)
    blob = rsa_part + aes_key_wrap_with_padding(aes_key, padded)
    unwrapped = software_unwrap(rsa_key(2048), blob)
    assert unwrapped == unwrap_with_openssl(private_pem_path(tmp_path, 2048), blob, tmp_path)
    assert zero_padding(plain, unwrapped) == len(padded) - len(plain)


def test_padded_pkcs8_is_refused_by_cryptography_and_read_by_openssl(tmp_path):
    plain = TARGETS["ec-P-256"]
    padded = plain + bytes(-len(plain) % 8)
    assert padded != plain
    with pytest.raises(ValueError):
        serialization.load_der_private_key(padded, password=None)
    path = write(tmp_path / "padded.der", padded)
    done = subprocess.run(
        ["/usr/bin/openssl", "pkey", "-inform", "DER", "-in", str(path), "-noout"],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0


@pytest.mark.parametrize(
    ("expected", "unwrapped", "added"),
    [
        (b"x" * 16, b"x" * 16, 0),
        (b"x" * 9, b"x" * 9 + bytes(7), 7),
        (b"x" * 15, b"x" * 15 + b"\0", 1),
    ],
)
def test_zero_padding_counts(expected, unwrapped, added):
    assert zero_padding(expected, unwrapped) == added


@pytest.mark.parametrize(
    ("expected", "unwrapped"),
    [
        (b"x" * 16, b"y" * 16),
        (b"x" * 9, b"x" * 9 + b"\0" * 6 + b"\1"),
        (b"x" * 9, b"x" * 9 + bytes(15)),
        (b"x" * 16, b"x" * 16 + bytes(8)),
        (b"x" * 9, b"x" * 9 + bytes(3)),
        (b"x" * 9, b"x" * 8),
    ],
)
def test_zero_padding_refuses_other_differences(expected, unwrapped):
    with pytest.raises(VerificationError) as caught:
        zero_padding(expected, unwrapped)
    assert caught.value.line() == (
        f"ceremony: error: the unwrapped key material ({len(unwrapped)} bytes) is not the "
        f"expected {len(expected)} bytes, even allowing for zero padding. Do not import this "
        "package; run the self-test and the wrap again"
    )


def test_ciphertext_is_base64url_of_the_blob():
    blob = bytes(range(256)) + bytes(40)
    text = json.loads(build_byok(parse_kid(VAULT_KID), blob, GENERATOR))["ciphertext"]
    assert base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) == blob
