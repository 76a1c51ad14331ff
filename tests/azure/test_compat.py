"""Which targets Azure accepts in a Key Vault and in a Managed HSM."""

import pytest

from ceremony.azure.compat import check_target
from ceremony.azure.kid import parse_kid
from ceremony.errors import BadInputError, ExitCode
from ceremony.keyspec import AES_SIZES, EC_CURVES, RSA_SIZES, KeySpec
from tests.support import HSM_KID, VAULT_KID

ASYMMETRIC = [KeySpec("rsa", size) for size in RSA_SIZES] + [
    KeySpec("ec", curve=curve) for curve in EC_CURVES
]
AES = [KeySpec("aes", size) for size in AES_SIZES]


@pytest.mark.parametrize("kid", [VAULT_KID, HSM_KID])
@pytest.mark.parametrize("spec", ASYMMETRIC, ids=str)
def test_rsa_and_ec_in_both_kinds(kid, spec):
    check_target(parse_kid(kid), spec)


@pytest.mark.parametrize("spec", AES, ids=str)
def test_aes_in_a_managed_hsm(spec):
    check_target(parse_kid(HSM_KID), spec)


@pytest.mark.parametrize("spec", AES, ids=str)
def test_aes_refused_for_a_vault_kid(spec):
    with pytest.raises(BadInputError) as caught:
        check_target(parse_kid(VAULT_KID), spec)
    assert caught.value.code == "target-aes-needs-managed-hsm"
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    assert caught.value.line() == (
        f"ceremony: error: target {spec} cannot be imported into Key Vault contoso-kv "
        f"({VAULT_KID}); Azure accepts AES keys only in a Managed HSM. Use a Managed HSM KEK "
        "for AES targets, or an RSA or EC target for a Key Vault"
    )
