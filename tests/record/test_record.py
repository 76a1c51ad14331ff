"""The record's canonical bytes (RFC 8785), its signature check and its outputs list."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import pytest
import rfc8785
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ceremony.digests import public_der, public_key_fingerprint, sha256_hex
from ceremony.errors import VerificationError
from ceremony.layout import CeremonyDir
from ceremony.record.canonical import (
    canonical,
    load_signer_key,
    signer_pem,
    verify_record_signature,
)
from tests.support.ceremony_dir import pem_of, sign

EVIDENCE = "keep the directory as evidence"
# An EC key on secp112r1 (OID 1.3.132.0.6), a curve OpenSSL does not support: loading it
# raises cryptography's UnsupportedAlgorithm, not ValueError.
SECP112R1_SPKI = bytes.fromhex(
    "3032301006072a8648ce3d020106052b81040006031e0004" + "01" * 14 + "02" * 14
)
SECP112R1_PEM = (
    b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(SECP112R1_SPKI)
    + b"-----END PUBLIC KEY-----\n"
)


def test_rfc8785_section_3_2_2_example():
    source = r"""{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"""
    expected = (
        r"""{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"""
        r""""string":"€$\u000f\nA'B\"\\\\\"/"}"""
    )
    assert canonical(json.loads(source)) == expected.encode("utf-8")


def test_rfc8785_section_3_2_3_keys_sort_by_utf16_code_units():
    source = r"""{
      "\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"""
    keys = list(json.loads(canonical(json.loads(source))))
    # U+1F600 is the surrogate pair D83D DE00, which sorts before U+FB33 in UTF-16.
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert canonical({"b": 1, "a": {"d": 2, "c": 3}}) == b'{"a":{"c":3,"d":2},"b":1}'


@pytest.mark.parametrize(("ieee", "text"), [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af6", "1e+23"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555555", "333333333.3333333"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
])
def test_rfc8785_appendix_b_number_forms(ieee, text):
    assert canonical(struct.unpack(">d", bytes.fromhex(ieee))[0]) == text.encode()


def test_unicode_is_utf8_and_only_control_characters_are_escaped():
    assert canonical(["é€\U0001f600", "\x1f\u2028", "</"]) == (
        '["é€\U0001f600","\\u001f\u2028","</"]'.encode()
    )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 2**53 + 1, {1: "x"}])
def test_what_json_cannot_carry_exactly_is_refused(value):
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical(value)


def test_fingerprints_are_sha256_of_the_der():
    key = ec.generate_private_key(ec.SECP384R1()).public_key()
    der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert public_der(key) == der
    assert public_key_fingerprint(der) == sha256_hex(der) == hashlib.sha256(der).hexdigest()


def test_signer_pem_round_trips_and_the_signature_verifies():
    signer = ec.generate_private_key(ec.SECP384R1())
    pem = signer_pem(public_der(signer.public_key()))
    assert pem == pem_of(signer.public_key())
    assert public_der(load_signer_key(pem)) == public_der(signer.public_key())
    verify_record_signature(pem, b"{}", sign(signer, b"{}"))


@pytest.mark.parametrize("signature", ["other-data", "other-key", "garbage"])
def test_a_signature_that_does_not_verify_is_named(signature):
    signer = ec.generate_private_key(ec.SECP384R1())
    der = {
        "other-data": sign(signer, b'{"a":1}'),
        "other-key": sign(ec.generate_private_key(ec.SECP384R1()), b"{}"),
        "garbage": b"\x30\x02\x01\x01",
    }[signature]
    with pytest.raises(VerificationError) as caught:
        verify_record_signature(pem_of(signer.public_key()), b"{}", der)
    assert caught.value.code == "record-signature-invalid"
    assert caught.value.line() == (
        "ceremony: error: record.json.sig is not a valid signature of record.json by "
        f"signer.pub.pem. The record or its signature changed after signing; {EVIDENCE}"
    )


def test_the_signer_must_be_ec_p384():
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    for attempt in (lambda: signer_pem(public_der(p256)), lambda: load_signer_key(pem_of(p256)),
                    lambda: load_signer_key(b"not a key")):
        with pytest.raises(VerificationError) as caught:
            attempt()
        assert caught.value.code == "signer-key-invalid"
    assert caught.value.line() == (
        "ceremony: error: signer.pub.pem is not an EC P-384 public key. The record signer is an "
        f"EC P-384 key on the token; {EVIDENCE}"
    )
    with pytest.raises(VerificationError) as caught:
        signer_pem(public_der(p256))
    assert caught.value.message == "the signer public key is not an EC P-384 public key"
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(VerificationError):
        verify_record_signature(pem_of(key.public_key()), b"{}", key.sign(
            b"{}", ec.ECDSA(hashes.SHA384())))


def test_a_signer_on_a_curve_openssl_does_not_support_is_not_p384():
    with pytest.raises(VerificationError) as caught:
        load_signer_key(SECP112R1_PEM, "dir/signer.pub.pem")
    assert caught.value.line() == (
        "ceremony: error: dir/signer.pub.pem is not an EC P-384 public key. The record signer "
        f"is an EC P-384 key on the token; {EVIDENCE}"
    )
    with pytest.raises(VerificationError) as caught:
        signer_pem(SECP112R1_SPKI)
    assert caught.value.message == "the signer public key is not an EC P-384 public key"


def test_signer_pem_refuses_a_der_that_is_not_the_standard_encoding():
    key = ec.generate_private_key(ec.SECP384R1()).public_key()
    compressed = key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    uncompressed = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    der = public_der(key).replace(b"\x03\x62\x00" + uncompressed, b"\x03\x32\x00" + compressed)
    der = der.replace(b"\x30\x76", b"\x30\x46", 1)  # the outer SEQUENCE is 48 bytes shorter
    with pytest.raises(VerificationError) as caught:
        signer_pem(der)
    assert caught.value.line() == (
        "ceremony: error: the signer public key from the token is not in standard "
        "SubjectPublicKeyInfo DER. Its fingerprint would differ from the PEM file's; check the "
        "token's key attributes (for EC: EC_PARAMS and EC_POINT)"
    )


def _tree(root, files):
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def test_outputs_hashes_every_file_but_the_four_with_slashes(tmp_path):
    _tree(tmp_path, {
        "plan.toml": b"plan", "journal.jsonl": b"j", "record.json": b"{}", "record.json.sig": b"s",
        "signer.pub.pem": b"p", "keys/a.byok": b"a", "keys/journal.jsonl": b"not the journal",
        "z/deep/file.txt": b"",
    })
    (tmp_path / "empty").mkdir()
    outputs = CeremonyDir(tmp_path).outputs()
    assert outputs == {
        "keys/a.byok": sha256_hex(b"a"),
        "keys/journal.jsonl": sha256_hex(b"not the journal"),
        "plan.toml": sha256_hex(b"plan"),
        "z/deep/file.txt": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    }
    assert list(outputs) == sorted(outputs)
    assert CeremonyDir(tmp_path / "empty").outputs() == {}


def test_outputs_refuses_half_written_debris(tmp_path):
    _tree(tmp_path, {"plan.toml": b"plan", "keys/.a.byok.k2j4x9.part": b"half"})
    with pytest.raises(VerificationError) as caught:
        CeremonyDir(tmp_path).outputs()
    assert caught.value.code == "output-debris"
    assert caught.value.line() == (
        f"ceremony: error: {tmp_path}/keys/.a.byok.k2j4x9.part is a half-written temporary file. "
        f"A write was interrupted and the directory is incomplete; {EVIDENCE}"
    )


def test_outputs_refuses_symlinks(tmp_path):
    _tree(tmp_path, {"plan.toml": b"plan"})
    os.symlink("/etc", tmp_path / "etc")
    with pytest.raises(VerificationError) as caught:
        CeremonyDir(tmp_path).outputs()
    assert caught.value.message == f"{tmp_path}/etc is not a regular file or directory"
