"""The token listing a front end shows: identity, flags and who holds each token's lock."""

import os

import pytest

from ceremony.errors import TokenError
from ceremony.hsm.lock import TokenLock, lock_dir, lock_holder
from ceremony.hsm.present import present_tokens
from ceremony.hsm.service import HsmService
from ceremony.secret import SecretPin
from tests.conftest import MODULE, TOKEN


def test_tokens_are_listed_with_flags_and_free(token_store):
    token_store.add_token("second")
    found = {token.info.label: token for token in present_tokens(MODULE, token_store.env)}
    assert sorted(found) == ["second", TOKEN]
    test = found[TOKEN]
    assert test.info.manufacturer == "SoftHSM project"
    assert "user PIN initialised" in test.info.flags
    assert test.holder is None


def test_a_locked_token_names_the_holder_and_stays_locked(token_store):
    serial = present_tokens(MODULE, token_store.env)[0].info.serial
    lock = TokenLock(MODULE, serial, TOKEN, lock_dir(token_store.env))
    lock.acquire()
    try:
        [held] = present_tokens(MODULE, token_store.env)
        assert held.holder == str(os.getpid())
        assert held.warnings == (
            f"in use by ceremony process {os.getpid()}: wait for it to end, or stop it",)
        assert lock_holder(MODULE, serial, token_store.env) == str(os.getpid())
    finally:
        lock.release()
    assert lock_holder(MODULE, serial, token_store.env) is None  # released: the file is left


def test_a_token_never_locked_has_no_lock_file_and_none_is_made(token_store, tmp_path):
    env = {**token_store.env, "CMK_CEREMONY_LOCK_DIR": str(tmp_path / "fresh")}
    assert lock_holder(MODULE, "0123", env) is None
    assert not (tmp_path / "fresh").exists()


def wrong_user_pin(token_store) -> None:
    """One wrong user PIN on the test token: SoftHSM then reports the user PIN count low."""
    service = HsmService(MODULE, token_store.env)
    service.select(label=TOKEN)
    try:
        with pytest.raises(TokenError):
            service.login(SecretPin("000000"))
    finally:
        service.close()


def test_a_wrong_pin_shows_as_a_warning_in_words(token_store):
    assert present_tokens(MODULE, token_store.env)[0].warnings == ()
    wrong_user_pin(token_store)
    assert present_tokens(MODULE, token_store.env)[0].warnings == (
        "user PIN count low: a wrong PIN was entered; make sure of the PIN before the ceremony",)
