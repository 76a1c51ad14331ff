"""Wrapping inside the HSM, checked by three parties that are not this code.

Every target type and size is wrapped under every KEK size, and each package is unwrapped by
(a) `cryptography` with the KEK's private key, (b) a second SoftHSM token acting as the vault
(C_UnwrapKey: OAEP, then KWP) and (c) the openssl command line. The KEK is made in software and
its private half put on the vault token by the test, so all three see the same package.
"""

import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_der_private_key,
)
from pkcs11 import Attribute as A
from pkcs11 import KeyType, ObjectClass

from ceremony.errors import TokenError
from ceremony.hsm.templates import Policy
from ceremony.hsm.types import ZERO_PADDING_WARNING
from ceremony.hsm.wrap import EPHEMERAL_LABEL, _der_length
from ceremony.keyspec import KeySpec
from ceremony.rehearsal.vault import RehearsalVault, VaultKek
from ceremony.secret import SecretPin
from tests.conftest import SO_PIN, USER_PIN, logged_in
from tests.support.unwrap import unwrap_with_cryptography, unwrap_with_openssl

TARGETS = (
    [KeySpec("rsa", size) for size in (2048, 3072, 4096)]
    + [KeySpec("ec", curve=c) for c in ("P-256", "P-384", "P-521", "P-256K")]
    + [KeySpec("aes", size) for size in (128, 192, 256)]
)
KEK_SIZES = (2048, 3072, 4096)


class SoftwareKek:
    """The shape HsmService.wrap expects of a KEK: a public key and a fingerprint."""

    def __init__(self, private: rsa.RSAPrivateKey):
        self.private = private
        self.public_key = private.public_key()
        self.fingerprint = f"software-{private.key_size}"


@pytest.fixture(scope="session")
def software_keks():
    return {bits: SoftwareKek(rsa.generate_private_key(65537, bits)) for bits in KEK_SIZES}


def _put_private_key(session, private: rsa.RSAPrivateKey, key_id: bytes) -> None:
    """Test-only: give the vault token the KEK's private half (an unwrap-only token object)."""
    n = private.private_numbers()
    size = private.key_size // 8

    def big(value, length=None):
        return value.to_bytes(length or (value.bit_length() + 7) // 8, "big")

    session.create_object({
        A.CLASS: ObjectClass.PRIVATE_KEY, A.KEY_TYPE: KeyType.RSA, A.TOKEN: True,
        A.PRIVATE: True, A.SENSITIVE: True, A.EXTRACTABLE: False, A.ID: key_id,
        A.LABEL: f"kek-{private.key_size}", A.UNWRAP: True, A.DECRYPT: False, A.SIGN: False,
        A.MODULUS: big(n.public_numbers.n, size), A.PUBLIC_EXPONENT: big(n.public_numbers.e),
        A.PRIVATE_EXPONENT: big(n.d), A.PRIME_1: big(n.p), A.PRIME_2: big(n.q),
        A.EXPONENT_1: big(n.dmp1), A.EXPONENT_2: big(n.dmq1), A.COEFFICIENT: big(n.iqmp),
    })


@pytest.fixture
def vault(token_store, software_keks):
    token_store.add_token("vault")
    service = logged_in(token_store, "vault")
    keks = {}
    for bits, kek in software_keks.items():
        key_id = bytes([bits // 256]) * 16
        service.in_session(_put_private_key, kek.private, key_id)
        kid = f"https://rehearsal.vault.azure.net/keys/kek-{bits}/{key_id.hex()}"
        keks[bits] = VaultKek(kid, b"", key_id, bits)
    yield RehearsalVault(service), keks
    service.close()


@pytest.fixture
def ceremony_token(vault, service, software_keks):
    """The ceremony's token under the trusted policy: KEKs staged by the SO, user logged in.

    Needs the vault first: adding a token reinitialises the module, ending open sessions.
    """
    service.stage_trusted_wrapping(software_keks.values(), 3, SecretPin(SO_PIN))
    service.login(SecretPin(USER_PIN))
    result = service.self_test()
    assert result.kwp_mechanism == "AES_KEY_WRAP_PAD"
    return service


def _strip_zero_padding(blob: bytes) -> bytes:
    der = blob[:_der_length(blob)]
    assert len(blob) - len(der) < 8 and not any(blob[len(der):])
    return der


def _kcv(value: bytes) -> str:
    encryptor = Cipher(algorithms.AES(value), modes.ECB()).encryptor()
    return (encryptor.update(bytes(16)) + encryptor.finalize())[:3].hex()


def _openssl_public_der(pkcs8: bytes, workdir) -> bytes:
    path = workdir / "unwrapped.der"
    path.write_bytes(pkcs8)
    return subprocess.run(
        ["openssl", "pkey", "-inform", "DER", "-in", str(path), "-pubout", "-outform", "DER"],
        capture_output=True, check=True,
    ).stdout


def _openssl_kcv(value: bytes) -> str:
    out = subprocess.run(
        ["openssl", "enc", f"-aes-{len(value) * 8}-ecb", "-nopad", "-K", value.hex()],
        input=bytes(16), capture_output=True, check=True,
    ).stdout
    return out[:3].hex()


@pytest.mark.parametrize("spec", TARGETS, ids=str)
def test_every_target_round_trips_under_every_kek_size(
    ceremony_token, vault, software_keks, spec, tmp_path,
):
    rehearsal_vault, vault_keks = vault
    ref = ceremony_token.generate(spec, "target", Policy.TRUSTED)
    facts = ceremony_token.facts(ref)
    expected = facts.kcv if spec.kind == "aes" else facts.public_der.hex()
    for bits in KEK_SIZES:
        kek = software_keks[bits]
        blob = ceremony_token.wrap(ref, kek)
        assert len(blob) - bits // 8 >= 16
        # (a) cryptography
        plain = unwrap_with_cryptography(kek.private, blob)
        # (c) the openssl command line
        pem = tmp_path / f"kek-{bits}.pem"
        pem.write_bytes(kek.private.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        assert unwrap_with_openssl(pem, blob, tmp_path) == plain
        if spec.kind == "aes":
            assert plain == plain[:spec.size // 8] and len(plain) == spec.size // 8
            assert _kcv(plain) == facts.kcv == _openssl_kcv(plain)
        else:
            der = _strip_zero_padding(plain)
            public = load_der_private_key(der, None).public_key()
            spki = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
            assert spki == facts.public_der
            assert _openssl_public_der(plain, tmp_path) == facts.public_der
        # (b) the vault token imports it with C_UnwrapKey
        result = rehearsal_vault.import_byok(vault_keks[bits], blob, spec, expected)
        assert result.evidence


def _ephemeral_keys(service) -> int:
    def count(session):
        return len(list(session.get_objects({A.LABEL: EPHEMERAL_LABEL})))
    return service.in_session(count)


def test_self_test_reports_softhsm_zero_padding(service):
    service.login(SecretPin(USER_PIN))
    result = service.self_test()
    assert result.zero_padding == 5  # SoftHSM's 67-byte EC P-256 PKCS#8 padded to 72
    assert result.warnings == (ZERO_PADDING_WARNING,)
    assert _ephemeral_keys(service) == 0


def test_ephemeral_key_is_destroyed_after_success_and_after_failure(ceremony_token, software_keks):
    kek = software_keks[2048]
    assert _ephemeral_keys(ceremony_token) == 3
    ref = ceremony_token.generate(KeySpec("aes", 256), "ok", Policy.TRUSTED)
    ceremony_token.wrap(ref, kek)
    assert _ephemeral_keys(ceremony_token) == 2
    # A real failure: the signer policy makes a key the token refuses to wrap.
    stuck = ceremony_token.generate(KeySpec("ec", curve="P-384"), "stuck", Policy.SIGNER)
    with pytest.raises(TokenError) as caught:
        ceremony_token.wrap(stuck, kek)
    assert caught.value.message == (
        "wrapping key 'stuck' on token test failed: KeyUnextractable"
    )
    assert _ephemeral_keys(ceremony_token) == 1


def test_extractable_policy_wraps_without_the_so(service, software_keks):
    service.login(SecretPin(USER_PIN))
    service.self_test()
    ref = service.generate(KeySpec("rsa", 2048), "plain", Policy.EXTRACTABLE)
    blob = service.wrap(ref, software_keks[2048])
    der = _strip_zero_padding(unwrap_with_cryptography(software_keks[2048].private, blob))
    assert load_der_private_key(der, None).key_size == 2048
    assert _ephemeral_keys(service) == 0


def test_trusted_key_cannot_be_wrapped_by_an_untrusted_kek(service, software_keks):
    service.login(SecretPin(USER_PIN))
    service.self_test()
    ref = service.generate(KeySpec("aes", 256), "guarded", Policy.TRUSTED)
    with pytest.raises(TokenError) as caught:
        service.wrap(ref, software_keks[2048])
    assert caught.value.code == "key-not-wrappable"
    assert _ephemeral_keys(service) == 0


def test_wrap_needs_a_self_test_first(service, software_keks):
    service.login(SecretPin(USER_PIN))
    ref = service.generate(KeySpec("aes", 256), "early", Policy.EXTRACTABLE)
    with pytest.raises(TokenError) as caught:
        service.wrap(ref, software_keks[2048])
    assert caught.value.code == "self-test-missing"
