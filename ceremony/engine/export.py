"""One key's BYOK export: the package, its public key and its az command, written together.

The CLI's `byok export` and the ceremony engine both call this, so the files an auditor finds
beside a `.byok` are the same whichever front end made them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ceremony import __version__
from ceremony.azure.az_commands import az_cloud_command, az_import_command
from ceremony.azure.byok import build_byok, generator_string
from ceremony.azure.compat import check_target
from ceremony.azure.kek import Kek
from ceremony.files import refuse_existing, write_all_exclusive
from ceremony.hsm.service import HsmService
from ceremony.hsm.types import KeyFacts, TokenInfo
from ceremony.layout import key_file_names
from ceremony.record.canonical import public_pem


@dataclass(frozen=True)
class ExportedKey:
    byok: Path
    public_pem: Path | None
    az_command: str
    sha256: dict[str, str]  # file path as written -> SHA-256 hex


@dataclass(frozen=True)
class ExportTarget:
    """Where one key's files go and what they call it: `<name>.byok` etc. in `out_dir`, and
    `azure_name`, the key's name in the az import command."""

    out_dir: Path
    name: str
    azure_name: str


def export_paths(out_dir: Path, name: str, asymmetric: bool) -> list[Path]:
    """The key's files in `out_dir` (layout.key_file_names)."""
    return [out_dir / file_name for file_name in key_file_names(name, asymmetric)]


def refuse_existing_outputs(out_dir: Path, name: str, asymmetric: bool) -> None:
    for path in export_paths(out_dir, name, asymmetric):
        refuse_existing(path)


def az_commands(kek: Kek, azure_name: str, facts: KeyFacts, byok_path: str) -> str:
    lines = [] if kek.kid.cloud == "public" else [az_cloud_command(kek.kid)]
    lines.append(az_import_command(kek.kid, azure_name, facts.ref.spec, byok_path))
    return "\n".join(lines)


def export_key(
    service: HsmService, token: TokenInfo, facts: KeyFacts, kek: Kek, target: ExportTarget,
) -> ExportedKey:
    """Wrap the key inside the HSM and write its files (export_paths) exclusively."""
    out_dir, name, azure_name = target.out_dir, target.name, target.azure_name
    check_target(kek.kid, facts.ref.spec)
    byok_path, command_path, *pem = export_paths(out_dir, name, facts.ref.spec.asymmetric)
    pem_path = pem[0] if pem else None
    refuse_existing_outputs(out_dir, name, facts.ref.spec.asymmetric)
    command = az_commands(kek, azure_name, facts, byok_path.name)
    ciphertext = service.wrap(facts.ref, kek)
    generator = generator_string(
        __version__, token.manufacturer, token.model, token.firmware_version,
    )
    files = {
        byok_path: build_byok(kek.kid, ciphertext, generator),
        command_path: f"{command}\n".encode(),
    }
    if pem_path is not None:
        files[pem_path] = public_pem(facts.public_der, f"the public key of {facts.ref.label!r}")
    digests = write_all_exclusive(files)
    return ExportedKey(byok_path, pem_path, command, {str(p): d for p, d in digests.items()})
