"""Importing an RSA key from a key-transfer file (PKCS#8 under AES-KWP with a token AES key)."""

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from pkcs11 import Attribute as A
from pkcs11 import KeyType, ObjectClass

from ceremony.azure.byok import parse_byok
from ceremony.cli import main
from ceremony.digests import sha256_hex
from ceremony.errors import StepFailed
from ceremony.hsm.templates import Policy
from ceremony.hsm.types import KeyRef
from ceremony.keyspec import KeySpec
from tests.conftest import PIN_ENV, logged_in, token_labels
from tests.support.rehearsal import make_vault, small_plan

TRANSFER_KEY = bytes(range(32))


def _put_transfer_key(session):
    """Test-only: an AES unwrapping key whose value the test knows, to make the transfer file."""
    session.create_object({
        A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES, A.TOKEN: True,
        A.PRIVATE: True, A.SENSITIVE: True, A.EXTRACTABLE: False, A.UNWRAP: True,
        A.WRAP: False, A.ENCRYPT: False, A.DECRYPT: False, A.LABEL: "transfer-key",
        A.ID: b"\x07" * 16, A.VALUE: TRANSFER_KEY,
    })


def test_an_imported_key_exports_and_the_record_says_it_was_imported(token_store, tmp_path):
    vault, kek = make_vault(token_store)
    service = logged_in(token_store)
    service.in_session(_put_transfer_key)
    service.close()
    software = rsa.generate_private_key(65537, 2048)
    pkcs8 = software.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    plan = small_plan(tmp_path / "plan", kek)
    (tmp_path / "plan" / "services.transfer").write_bytes(
        aes_key_wrap_with_padding(TRANSFER_KEY, pkcs8))
    plan.write_text(plan.read_text().replace(
        'label = "cmk-services"\n',
        'label = "cmk-services"\norigin = "import"\nsource = "services.transfer"\n'
        'unwrap_key = "transfer-key"\n'))
    assert main(["run", str(plan), "--yes"], env={**token_store.env, **PIN_ENV}) == 0
    record = json.loads((tmp_path / "plan" / "out" / "small" / "record.json").read_bytes())
    key = record["keys"][0]
    spki = software.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert key["origin"] == "import" and key["fingerprint_sha256"] == sha256_hex(spki)
    assert key["attributes"]["LOCAL"] is False
    assert key["attributes"]["ALWAYS_SENSITIVE"] is False
    assert key["attributes"]["SENSITIVE"] is True and key["attributes"]["EXTRACTABLE"] is True
    assert key["attributes"]["WRAP_WITH_TRUSTED"] is True
    assert key["attributes"]["MODIFIABLE"] is True  # SoftHSM refuses it in unwrap templates
    assert key["notes"] and "LOCAL=false" in key["notes"][0]
    assert "cmk-services" in token_labels(token_store)
    package = parse_byok((tmp_path / "plan" / "out" / "small" / key["files"]["byok"])
                         .read_bytes(), "services.byok")
    assert vault.import_byok(kek, package.ciphertext, KeySpec("rsa", 2048), spki.hex()).evidence
    vault.service.close()


def test_import_is_for_rsa_keys_only(token_store, tmp_path, capsys):
    vault, kek = make_vault(token_store)
    vault.service.close()
    plan = small_plan(tmp_path / "plan", kek)
    (tmp_path / "plan" / "k.transfer").write_bytes(b"x" * 40)
    plan.write_text(plan.read_text().replace(
        'label = "cmk-services"\ntype = "rsa"\nsize = 2048\n',
        'label = "cmk-services"\norigin = "import"\nsource = "k.transfer"\n'
        'unwrap_key = "transfer-key"\ntype = "ec"\ncurve = "P-256"\n'))
    assert main(["plan", "check", str(plan)]) == 2
    err = capsys.readouterr().err
    assert (f"ceremony: error: {plan}: key[1].type: origin = \"import\" takes rsa keys only: "
            "a key-transfer file carries no EC public point") in err


def test_adopt_finishes_an_import_interrupted_before_its_public_half(token_store):
    service = logged_in(token_store)
    service.in_session(_put_transfer_key)
    service.self_test()
    software = rsa.generate_private_key(65537, 2048)
    blob = aes_key_wrap_with_padding(TRANSFER_KEY, software.private_bytes(
        Encoding.DER, PrivateFormat.PKCS8, NoEncryption()))
    ref = service.import_key(KeySpec("rsa", 2048), "imported", Policy.TRUSTED,
                             service.new_key_id(), "transfer-key", blob)

    def drop_public_half(session):  # what a crash between the two token calls leaves
        for obj in session.get_objects({A.CLASS: ObjectClass.PUBLIC_KEY, A.ID: ref.key_id}):
            obj.destroy()

    service.in_session(drop_public_half)
    service.adopt(ref)
    spki = software.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert service.facts(ref).fingerprint == sha256_hex(spki)
    service.close()


def test_adopt_refuses_a_key_that_does_not_read_back_as_planned(user_service):
    ref = user_service.generate(KeySpec("rsa", 2048), "k", Policy.TRUSTED)
    with pytest.raises(StepFailed) as caught:
        user_service.adopt(KeyRef(ref.label, ref.key_id, KeySpec("rsa", 3072)))
    assert caught.value.message == (
        "key 'k' on token test reads back as RSA 2048, not RSA 3072")
