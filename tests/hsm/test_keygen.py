"""Key generation from explicit templates: types, sizes, read-back, fingerprints, snapshots."""

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)

from ceremony.errors import BadInputError
from ceremony.hsm.templates import Policy
from ceremony.keyspec import KeySpec

CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1,
          "P-256K": ec.SECP256K1}
ASYMMETRIC = [KeySpec("rsa", size) for size in (2048, 3072, 4096)] + [
    KeySpec("ec", curve=curve) for curve in CURVES
]


@pytest.mark.parametrize("spec", ASYMMETRIC, ids=str)
def test_asymmetric_keys_generate_read_back_and_fingerprint(user_service, spec):
    ref = user_service.generate(spec, f"k-{spec.kind}", Policy.TRUSTED)
    assert len(ref.key_id) == 16
    facts = user_service.facts(ref)
    public = load_der_public_key(facts.public_der)  # parsed by cryptography, not by us
    if spec.kind == "rsa":
        assert isinstance(public, rsa.RSAPublicKey)
        assert public.key_size == spec.size
        assert public.public_numbers().e == 65537
    else:
        assert isinstance(public.curve, CURVES[spec.curve])
    spki = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert facts.fingerprint == hashlib.sha256(spki).hexdigest()
    assert facts.kcv is None


@pytest.mark.parametrize("size", [128, 192, 256])
def test_aes_keys_generate_with_a_token_computed_check_value(user_service, size):
    ref = user_service.generate(KeySpec("aes", size), "k-aes", Policy.TRUSTED)
    facts = user_service.facts(ref)
    assert facts.public_der is None and facts.fingerprint is None
    assert len(bytes.fromhex(facts.kcv)) == 3
    assert facts.kcv_note is None


def test_target_key_attributes_follow_the_byok_policy(user_service):
    ref = user_service.generate(KeySpec("rsa", 2048), "target", Policy.TRUSTED)
    attrs = user_service.facts(ref).attributes
    assert attrs["CLASS"] == "PRIVATE_KEY" and attrs["KEY_TYPE"] == "RSA"
    assert attrs["TOKEN"] is True and attrs["PRIVATE"] is True
    assert attrs["SENSITIVE"] is True and attrs["ALWAYS_SENSITIVE"] is True
    assert attrs["EXTRACTABLE"] is True and attrs["NEVER_EXTRACTABLE"] is False
    assert attrs["WRAP_WITH_TRUSTED"] is True
    assert attrs["LOCAL"] is True and attrs["MODIFIABLE"] is False
    assert not any(attrs[flag] for flag in ("DECRYPT", "UNWRAP", "SIGN", "DERIVE"))


def test_extractable_policy_drops_wrap_with_trusted(user_service):
    ref = user_service.generate(KeySpec("aes", 256), "plain", Policy.EXTRACTABLE)
    attrs = user_service.facts(ref).attributes
    assert attrs["WRAP_WITH_TRUSTED"] is False and attrs["EXTRACTABLE"] is True
    assert attrs["ENCRYPT"] is False and attrs["WRAP"] is False


def test_signer_key_never_leaves_the_token(user_service):
    ref = user_service.generate(KeySpec("ec", curve="P-384"), "signer", Policy.SIGNER)
    attrs = user_service.facts(ref).attributes
    assert attrs["EXTRACTABLE"] is False and attrs["NEVER_EXTRACTABLE"] is True
    assert attrs["SIGN"] is True and attrs["SENSITIVE"] is True


def test_label_collision_is_refused(user_service):
    user_service.generate(KeySpec("ec", curve="P-256"), "taken", Policy.TRUSTED)
    with pytest.raises(BadInputError) as caught:
        user_service.generate(KeySpec("aes", 256), "taken", Policy.TRUSTED)
    assert caught.value.line() == (
        "ceremony: error: token test already holds an object labelled 'taken'. Choose another "
        "label; the tool never reuses or replaces a key"
    )
    assert user_service.label_free("other") and not user_service.label_free("taken")


def test_each_key_gets_its_own_random_id(user_service):
    first = user_service.generate(KeySpec("aes", 128), "a", Policy.TRUSTED)
    second = user_service.generate(KeySpec("aes", 128), "b", Policy.TRUSTED)
    assert first.key_id != second.key_id


def test_label_free_without_login_sees_public_objects_only(service, user_service):
    user_service.generate(KeySpec("rsa", 2048), "rsa-pair", Policy.TRUSTED)
    user_service.generate(KeySpec("aes", 256), "secret", Policy.TRUSTED)
    user_service.logout()
    assert not service.label_free("rsa-pair")  # its public half is a public object
    assert service.label_free("secret")  # private: invisible until login
