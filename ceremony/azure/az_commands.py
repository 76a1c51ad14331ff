"""The `az` commands that finish a ceremony online: one place that knows azure-cli's flags.

`az keyvault key import` with `--byok-file` takes `--kty RSA|EC|oct` (azure-cli's
CLIKeyTypeForBYOKImport; it appends `-HSM` itself) and `--curve` only with EC. `--vault-name`
and `--hsm-name` are resolved against the active az cloud, so a kid outside the public cloud
needs `az cloud set` first. Every argument is shell-quoted.
"""

from __future__ import annotations

import shlex

from ceremony.azure.kid import KEY_NAME, Kid
from ceremony.errors import BadInputError
from ceremony.keyspec import KeySpec

_KTY = {"rsa": "RSA", "ec": "EC", "aes": "oct"}
_AZ_CLOUD = {"public": "AzureCloud", "usgov": "AzureUSGovernment", "china": "AzureChinaCloud"}


def az_import_command(kid: Kid, azure_key_name: str, spec: KeySpec, byok_path: str) -> str:
    """The `az keyvault key import` line for a `.byok` made with the KEK `kid`."""
    if not KEY_NAME.fullmatch(azure_key_name):
        raise BadInputError(
            "azure-key-name-invalid",
            f"Azure key name {azure_key_name!r} is not 1-127 letters, digits and hyphens",
            "Choose a key name of letters, digits and hyphens only",
        )
    args = ["az", "keyvault", "key", "import", *_vault_args(kid), "--name", azure_key_name]
    args += ["--kty", _KTY[spec.kind]]
    if spec.kind == "ec":
        args += ["--curve", spec.curve]
    args += ["--byok-file", byok_path]
    return shlex.join(args)


def az_key_show_command(kid: Kid, azure_key_name: str) -> str:
    """The command that prints the versioned kid of the key once it is imported."""
    return shlex.join(["az", "keyvault", "key", "show", *_vault_args(kid), "--name",
                       azure_key_name, "--query", "key.kid", "-o", "tsv"])


def _vault_args(kid: Kid) -> list[str]:
    return ["--vault-name" if kid.vault_kind == "vault" else "--hsm-name", kid.vault_name]


def az_cloud_command(kid: Kid) -> str:
    """`az cloud set` for the kid's cloud, to run before the import commands."""
    return shlex.join(["az", "cloud", "set", "--name", _AZ_CLOUD[kid.cloud]])
