"""Rehearsal set-up for engine tests: a vault token with a KEK and plans that use it."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from ceremony.engine.ceremony import KILL_HOOK
from ceremony.rehearsal.vault import RehearsalVault, VaultKek
from tests.conftest import PIN_ENV, TOKEN, logged_in
from tests.support import ceremony_cli

EXAMPLE_KID = "https://contoso-cmk-kv.vault.azure.net/keys/ceremony-kek/f9159784b0331c284decddb3bf318541"


def make_vault(token_store, bits: int = 3072) -> tuple[RehearsalVault, VaultKek]:
    """Add a vault token to the store and make a KEK on it (call before any other service)."""
    token_store.add_token("vault")
    vault = RehearsalVault(logged_in(token_store, "vault"))
    return vault, vault.create_kek("ceremony-kek", bits)


def example_plan(directory: Path, kek: VaultKek) -> Path:
    """The shipped example plan, pointed at the test token and the vault's KEK."""
    text = resources.files("ceremony").joinpath("examples/example-plan.toml").read_text()
    text = text.replace('token = "rehearsal"', f'token = "{TOKEN}"')
    text = text.replace('file = "kek-contoso-cmk-kv.pem"', 'file = "kek.pem"')
    text = text.replace(EXAMPLE_KID, kek.kid)
    return _write(directory, text, kek)


def small_plan(directory: Path, kek: VaultKek, policy: str = "trusted") -> Path:
    """Two RSA 2048 keys, one destroyed after export: quick enough to run many times."""
    text = f'''
[ceremony]
id = "small"
purpose = "resume tests"
workspaces = ["adb-test"]

[[participant]]
name = "Ada"
role = "administrator"
[[participant]]
name = "Cid"
role = "custodian"
[[participant]]
name = "Cora"
role = "custodian"
[[participant]]
name = "Wes"
role = "witness"

[hsm]
token = "{TOKEN}"
wrap_policy = "{policy}"
user_pin = "env:CEREMONY_USER_PIN"
so_pin = "env:CEREMONY_SO_PIN"

[[kek]]
name = "kv"
file = "kek.pem"
kid = "{kek.kid}"

[[key]]
name = "services"
label = "cmk-services"
type = "rsa"
size = 2048
kek = "kv"
features = ["managed-services", "dbfs-root"]
azure_name = "adb-services"

[[key]]
name = "disks"
label = "cmk-disks"
type = "rsa"
size = 2048
kek = "kv"
features = ["managed-disks"]
azure_name = "adb-disks"
after_export = "destroy"

[output]
directory = "out"
'''
    return _write(directory, text, kek)


def _write(directory: Path, text: str, kek: VaultKek) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "kek.pem").write_bytes(kek.public_pem)
    assert not re.search(r"\d{6}", text.split("[hsm]")[1].split("[[kek]]")[0])
    path = directory / "plan.toml"
    path.write_text(text)
    return path


SERVICES_EXPORTED = 18  # small_plan's journal line that seals its first key's key-exported


def interrupted_small(token_store, directory: Path) -> tuple[Path, Path, dict[str, str]]:
    """A small_plan ceremony under `directory` killed once its first key is exported:
    (plan, ceremony directory, env)."""
    vault, kek = make_vault(token_store)
    vault.service.close()
    plan = small_plan(directory / "plan", kek)
    env = {**token_store.env, **PIN_ENV}
    killed = ceremony_cli({**env, KILL_HOOK: str(SERVICES_EXPORTED)}, "run", str(plan), "--yes")
    assert killed.returncode == -9, killed.stderr
    return plan, directory / "plan" / "out" / "small", env
