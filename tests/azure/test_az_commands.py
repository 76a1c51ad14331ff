"""The `az` lines of the runbook: flags as azure-cli defines them, arguments shell-quoted."""

import shlex

import pytest

from ceremony.azure.az_commands import az_cloud_command, az_import_command
from ceremony.azure.kid import parse_kid
from ceremony.errors import BadInputError
from ceremony.keyspec import KeySpec
from tests.support import HSM_KID, VAULT_KID, VERSION


def test_rsa_into_a_key_vault():
    line = az_import_command(parse_kid(VAULT_KID), "dbx-cmk", KeySpec("rsa", 4096), "keys/dbx.byok")
    assert line == (
        "az keyvault key import --vault-name contoso-kv --name dbx-cmk --kty RSA "
        "--byok-file keys/dbx.byok"
    )


@pytest.mark.parametrize("curve", ["P-256", "P-384", "P-521", "P-256K"])
def test_ec_into_a_managed_hsm(curve):
    spec = KeySpec("ec", curve=curve)
    line = az_import_command(parse_kid(HSM_KID), "sign-1", spec, "keys/sign-1.byok")
    assert line == (
        "az keyvault key import --hsm-name contoso-hsm --name sign-1 --kty EC "
        f"--curve {curve} --byok-file keys/sign-1.byok"
    )


def test_aes_into_a_managed_hsm():
    line = az_import_command(parse_kid(HSM_KID), "aes-1", KeySpec("aes", 256), "aes-1.byok")
    assert line == (
        "az keyvault key import --hsm-name contoso-hsm --name aes-1 --kty oct "
        "--byok-file aes-1.byok"
    )


def test_paths_are_shell_quoted():
    path = "/media/usb stick/it's here/$HOME;rm -rf.byok"
    line = az_import_command(parse_kid(VAULT_KID), "k", KeySpec("rsa", 2048), path)
    assert shlex.split(line)[-2:] == ["--byok-file", path]
    assert line.endswith("'/media/usb stick/it'\"'\"'s here/$HOME;rm -rf.byok'")


@pytest.mark.parametrize("name", ["", "a b", "k_1", "x" * 128, "k;rm"])
def test_azure_key_name_must_be_valid(name):
    with pytest.raises(BadInputError) as caught:
        az_import_command(parse_kid(VAULT_KID), name, KeySpec("rsa", 2048), "k.byok")
    assert caught.value.line() == (
        f"ceremony: error: Azure key name {name!r} is not 1-127 letters, digits and hyphens. "
        "Choose a key name of letters, digits and hyphens only"
    )


@pytest.mark.parametrize(
    ("host", "cloud"),
    [
        ("contoso.vault.azure.net", "AzureCloud"),
        ("contoso.managedhsm.usgovcloudapi.net", "AzureUSGovernment"),
        ("contoso.vault.azure.cn", "AzureChinaCloud"),
    ],
)
def test_cloud_command(host, cloud):
    kid = parse_kid(f"https://{host}/keys/kek/{VERSION}")
    assert az_cloud_command(kid) == f"az cloud set --name {cloud}"
