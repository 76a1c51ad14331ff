"""Real SoftHSM2 token stores, one per test.

A template store with one initialised token is made once per session with softhsm2-util; each
test copies it into its own directory with its own SOFTHSM2_CONF and reinitialises the loaded
module so it reads that configuration (DESIGN.md section 7). Tokens are never copied twice into
one store: a duplicate serial aborts SoftHSM.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ceremony.hsm.module import find_module
from ceremony.hsm.service import HsmService, reinitialize_module

MODULE = find_module()
USER_PIN = "123456"
SO_PIN = "87654321"
TOKEN = "test"
PIN_ENV = {"CEREMONY_USER_PIN": USER_PIN, "CEREMONY_SO_PIN": SO_PIN}


def write_conf(store: Path) -> Path:
    conf = store / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {store / 'tokens'}\n"
        "objectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
    )
    return conf


def init_token(conf: Path, label: str, pin: str = USER_PIN, so_pin: str = SO_PIN) -> None:
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label,
         "--pin", pin, "--so-pin", so_pin],
        env={**os.environ, "SOFTHSM2_CONF": str(conf)}, check=True, capture_output=True,
    )


@dataclass
class TokenStore:
    """A test's own token directory, configuration and environment."""

    path: Path
    conf: Path
    template: Path
    env: dict[str, str] = field(default_factory=dict)

    def add_token(self, label: str) -> None:
        init_token(self.conf, label)
        reinitialize_module(MODULE)

    def reset(self) -> None:
        """The tokens as the fixture made them, for a second ceremony in one test."""
        shutil.rmtree(self.path / "tokens")
        shutil.copytree(self.template / "tokens", self.path / "tokens")
        reinitialize_module(MODULE)


@pytest.fixture(scope="session")
def template_store(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("template-store")
    (store / "tokens").mkdir()
    init_token(write_conf(store), TOKEN)
    return store


@pytest.fixture
def token_store(tmp_path, template_store, monkeypatch) -> TokenStore:
    store = tmp_path / "store"
    shutil.copytree(template_store / "tokens", store / "tokens")
    conf = write_conf(store)
    env = {"SOFTHSM2_CONF": str(conf), "CMK_CEREMONY_LOCK_DIR": str(tmp_path / "locks")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reinitialize_module(MODULE)
    return TokenStore(store, conf, template_store, {**os.environ, **env})


@pytest.fixture
def service(token_store):
    """An HsmService on the test token, selected and locked but not logged in."""
    hsm = HsmService(MODULE, token_store.env)
    hsm.select(label=TOKEN)
    yield hsm
    hsm.close()


@pytest.fixture
def user_service(service):
    from ceremony.secret import SecretPin

    service.login(SecretPin(USER_PIN))
    return service


def logged_in(token_store: TokenStore, label: str = TOKEN) -> HsmService:
    """A service on the token `label`, selected (locked) and logged in as user."""
    from ceremony.secret import SecretPin

    service = HsmService(MODULE, token_store.env)
    service.select(label=label)
    service.login(SecretPin(USER_PIN))
    return service


def token_labels(token_store: TokenStore) -> list[str]:
    """The distinct labels of every object on the test token (opens and closes a session)."""
    service = logged_in(token_store)
    try:
        return service.in_session(lambda s: sorted({o.label for o in s.get_objects({})}))
    finally:
        service.close()


@pytest.fixture
def vault_kek(token_store):
    """A rehearsal vault token with a 3072-bit KEK (its session closed): the KEK."""
    from tests.support.rehearsal import make_vault

    vault, kek = make_vault(token_store)
    vault.service.close()
    return kek
