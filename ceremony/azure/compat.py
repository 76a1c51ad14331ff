"""Which target keys Azure accepts in which kind of vault.

A package Azure will refuse is a ceremony wasted, so the rule is checked against the KEK's kid
while the plan is validated: RSA 2048/3072/4096 and EC P-256/P-384/P-521/P-256K go to Key Vault
Premium and Managed HSM alike; AES 128/192/256 (`oct-HSM`) only to a Managed HSM. KeySpec
already limits sizes and curves to exactly those Azure accepts, so the vault kind is what is left.
"""

from __future__ import annotations

from ceremony.azure.kid import Kid
from ceremony.errors import BadInputError
from ceremony.keyspec import KeySpec


def check_target(kid: Kid, spec: KeySpec) -> None:
    """Raise BadInputError when Azure would refuse to import `spec` into the kid's vault."""
    if spec.kind == "aes" and kid.vault_kind != "managedhsm":
        raise BadInputError(
            "target-aes-needs-managed-hsm",
            f"target {spec} cannot be imported into Key Vault {kid.vault_name} ({kid.url}); "
            "Azure accepts AES keys only in a Managed HSM",
            "Use a Managed HSM KEK for AES targets, or an RSA or EC target for a Key Vault",
        )
