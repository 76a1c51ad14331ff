"""Each KEK rule with its outcome, as the wizard lists them: the same rules load_kek applies."""

import pytest

from ceremony.azure.kek import check_kek, load_kek
from ceremony.errors import BadInputError
from tests.azure.test_kek import az_show_json
from tests.support import VAULT_KID, ec_key, public_pem, rsa_key, write

RULES = [
    "the file can be read",
    "it holds one public key (PEM, DER or az JSON), no private key",
    "the key is RSA",
    "2048, 3072 or 4096 bits",
    "public exponent 65537",
    "a versioned Key Vault kid, the same wherever it is given",
]


def test_a_good_kek_passes_every_rule_and_gives_the_kek_load_kek_gives(tmp_path):
    path = write(tmp_path / "kek.pem", public_pem(rsa_key(2048)))
    checked = check_kek(path, VAULT_KID)
    assert [(o.rule, o.passed) for o in checked.outcomes] == [(rule, True) for rule in RULES]
    assert checked.kek == load_kek(path, VAULT_KID)


def test_the_json_rule_is_listed_only_when_a_json_file_is_given(tmp_path):
    key = rsa_key(2048)
    path = write(tmp_path / "kek.pem", public_pem(key))
    json_path = write(tmp_path / "kek.json", az_show_json(key.public_key()))
    rules = [o.rule for o in check_kek(path, None, json_path).outcomes]
    assert rules == [*RULES[:5], "the az JSON file is a KEK and holds the same public key",
                     RULES[5]]
    assert check_kek(path, None, json_path).kek.kid.url == VAULT_KID


@pytest.mark.parametrize(("key", "failing", "words"), [
    (rsa_key(1024), "2048, 3072 or 4096 bits", "1024-bit RSA key"),
    (ec_key("P-256"), "the key is RSA", "non-RSA key (EC secp256r1)"),
])
def test_a_bad_kek_fails_its_rule_with_load_keks_error_and_the_rest_is_not_checked(
        tmp_path, key, failing, words):
    path = write(tmp_path / "kek.pem", public_pem(key))
    checked = check_kek(path, VAULT_KID)
    at = RULES.index(failing)
    assert [o.passed for o in checked.outcomes] == [True] * at + [False] + [None] * (5 - at)
    assert checked.kek is None
    with pytest.raises(BadInputError) as raised:
        load_kek(path, VAULT_KID)
    assert checked.outcomes[at].error.line() == raised.value.line()
    assert words in raised.value.message


def test_a_missing_kid_fails_the_last_rule(tmp_path):
    path = write(tmp_path / "kek.pem", public_pem(rsa_key(2048)))
    last = check_kek(path).outcomes[-1]
    assert (last.passed, last.error.code) == (False, "kek-kid-missing")
