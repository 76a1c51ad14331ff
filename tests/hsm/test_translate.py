"""pkcs11 exceptions become CeremonyErrors with readable names, never empty text."""

import pkcs11.exceptions as px
import pytest

from ceremony.errors import TokenError
from ceremony.hsm.translate import describe, translated


@pytest.mark.parametrize(
    ("exc", "name"),
    [
        (px.PKCS11Error("Unmapped error code 0x68"), "CKR_KEY_FUNCTION_NOT_PERMITTED"),
        (px.PKCS11Error("Unmapped error code 0x1234"), "CKR 0x1234"),
        (px.KeyUnextractable(), "KeyUnextractable"),
        (AttributeError("no C_WrapKey"), "capability not supported by this module"),
    ],
)
def test_describe_names_errors_that_carry_no_text(exc, name):
    assert describe(exc) == name


def test_translated_turns_pkcs11_errors_into_token_errors():
    with pytest.raises(TokenError) as caught, translated("wrapping key 'k' on token t"):
        raise px.MechanismInvalid()
    assert caught.value.line() == (
        "ceremony: error: wrapping key 'k' on token t failed: MechanismInvalid. The token does "
        "not offer this mechanism"
    )
    assert caught.value.exit_code == 3
