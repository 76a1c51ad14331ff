"""The ceremony signer: created once, never extractable, signatures that openssl accepts."""

import subprocess

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)

from ceremony.hsm.templates import Policy
from ceremony.keyspec import KeySpec


def test_signer_is_created_once_and_found_again(user_service):
    assert user_service.find_signer() is None
    key_id = user_service.new_key_id()
    ref = user_service.create_signer(key_id)
    assert ref.key_id == key_id
    assert user_service.find_signer() == ref
    attrs = user_service.facts(ref).attributes
    assert attrs["EXTRACTABLE"] is False and attrs["NEVER_EXTRACTABLE"] is True


def test_signature_verifies_with_cryptography_and_openssl(user_service, tmp_path):
    ref = user_service.create_signer(user_service.new_key_id())
    data = b'{"format":"cmk-ceremony-record/1"}'
    signature = user_service.sign(ref, data)
    public = load_der_public_key(user_service.facts(ref).public_der)
    public.verify(signature, data, ec.ECDSA(hashes.SHA384()))
    (tmp_path / "record.json").write_bytes(data)
    (tmp_path / "record.json.sig").write_bytes(signature)
    (tmp_path / "signer.pub.pem").write_bytes(
        public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    result = subprocess.run(
        ["openssl", "dgst", "-sha384", "-verify", "signer.pub.pem", "-signature",
         "record.json.sig", "record.json"], cwd=tmp_path, capture_output=True, text=True)
    assert result.stdout == "Verified OK\n"


def test_destroy_removes_every_object_with_the_key_id(user_service):
    ref = user_service.generate(KeySpec("rsa", 2048), "doomed", Policy.TRUSTED)
    assert user_service.key_present(ref)
    assert user_service.destroy(ref) == 2  # private and public halves
    assert not user_service.key_present(ref)
    assert user_service.label_free("doomed")


def test_generate_with_a_journaled_key_id(user_service):
    key_id = user_service.new_key_id()
    ref = user_service.generate(KeySpec("aes", 256), "chosen", Policy.TRUSTED, key_id)
    assert ref.key_id == key_id and user_service.key_present(ref)
