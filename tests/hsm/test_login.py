"""Login as user or SO: wrong PIN messages with the token's retry flags, and PIN hygiene."""

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pkcs11 import Attribute as A

from ceremony.errors import TokenError
from ceremony.hsm import wrap
from ceremony.hsm.service import ROLE_FLAGS
from ceremony.hsm.templates import Policy
from ceremony.keyspec import KeySpec
from ceremony.secret import SecretPin
from tests.conftest import SO_PIN, USER_PIN

WRONG = "999999"


def test_user_login_and_logout(service):
    service.login(SecretPin(USER_PIN))
    with pytest.raises(TokenError) as caught:
        service.login(SecretPin(USER_PIN))
    assert caught.value.code == "already-logged-in"
    service.logout()
    service.login(SecretPin(USER_PIN))


def test_so_login_may_mark_a_key_trusted_and_is_no_user_login(service):
    """Only the SO may set CKA_TRUSTED; the SO's session holds no user login, so the token
    refuses it a private key; after the SO logs out the user logs in and is refused CKA_TRUSTED."""
    kek = rsa.generate_private_key(65537, 2048).public_key()
    service.login(SecretPin(SO_PIN), so=True)
    made = service.in_session(wrap.create_kek, kek, True)
    assert service.in_session(lambda _session: made[A.TRUSTED]) is True
    with pytest.raises(TokenError) as caught:
        service.generate(KeySpec("aes", 256), "so-made", Policy.TRUSTED)
    assert caught.value.code == "not-logged-in"
    assert "UserNotLoggedIn" in caught.value.message
    service.logout()

    service.login(SecretPin(USER_PIN))
    with pytest.raises(TokenError) as caught:
        service.in_session(wrap.create_kek, kek, True)
    assert "AttributeReadOnly" in caught.value.message
    assert service.label_free("so-made")


@pytest.mark.parametrize("so", [False, True], ids=["user", "SO"])
def test_wrong_pin_names_the_token_and_its_flags_and_never_the_pin(service, so):
    """SoftHSM sets PIN-count-low after a wrong try; the message shows the re-read flags."""
    role = "SO" if so else "user"
    with pytest.raises(TokenError) as caught:
        service.login(SecretPin(WRONG), so=so)
    error = caught.value
    assert error.exit_code == 3
    assert error.line() == (
        f"ceremony: error: wrong {role} PIN for token test (token reports: {role} PIN count "
        "low). Check the PIN source; every wrong try counts against the token's retry limit"
    )
    assert WRONG not in repr(error) and WRONG not in str(error.__context__ or "")
    # A failed attempt leaves no session that would block the next login.
    service.login(SecretPin(SO_PIN if so else USER_PIN), so=so)


class FakeToken:
    """A stand-in for a token state SoftHSM never reaches: it never sets FINAL_TRY or LOCKED."""

    def __init__(self, real, extra_flags):
        self._real = real
        self.flags = int(real.flags) | extra_flags

    def __getattr__(self, name):
        return getattr(self._real, name)


def _with_flags(service, monkeypatch, flags):
    real = service._fresh_token
    monkeypatch.setattr(service, "_fresh_token", lambda: FakeToken(real(), flags))


@pytest.mark.parametrize("so", [False, True], ids=["user", "SO"])
def test_final_try_refuses_to_try_a_pin_without_confirmation(service, monkeypatch, so):
    role = "SO" if so else "user"
    _with_flags(service, monkeypatch, ROLE_FLAGS[role][0])
    with pytest.raises(TokenError) as caught:
        service.login(SecretPin(WRONG), so=so)
    assert caught.value.line() == (
        f"ceremony: error: token test reports the {role} PIN's final try; no PIN was tried. "
        "One more wrong PIN locks it: confirm the final try explicitly once the PIN is certain"
    )
    service.login(SecretPin(SO_PIN if so else USER_PIN), so=so, confirm_final_try=True)


def test_locked_pin_is_refused_before_trying(service, monkeypatch):
    _with_flags(service, monkeypatch, ROLE_FLAGS["user"][1])
    with pytest.raises(TokenError) as caught:
        service.login(SecretPin(USER_PIN))
    assert caught.value.line() == (
        "ceremony: error: the user PIN of token test is locked. The security officer must "
        "unlock or reset it before the ceremony"
    )

