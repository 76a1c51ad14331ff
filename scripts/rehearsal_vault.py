"""Rehearsal vault for scripts/demo: a second SoftHSM token plays Azure Key Vault.

  rehearsal_vault.py create-kek --token T --name NAME --bits N --out DIR
      makes the KEK on the vault token; writes DIR/NAME.pem, DIR/NAME.kid and DIR/NAME.json
      (what `az keyvault key show` prints for it)
  rehearsal_vault.py import --token T --ceremony DIR
      imports every keys/<name>.byok of a finished ceremony with C_UnwrapKey and checks that
      each imported key is the ceremony's key (public key or KCV from record.json)

The vault token's user PIN comes from $REHEARSAL_VAULT_PIN (rehearsal tokens only).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from ceremony.azure.byok import parse_byok
from ceremony.azure.kid import parse_kid
from ceremony.errors import CeremonyError
from ceremony.hsm.module import find_module
from ceremony.hsm.service import HsmService
from ceremony.keyspec import KeySpec
from ceremony.rehearsal.vault import RehearsalVault, VaultKek
from ceremony.secret import SecretPin


def _vault(label: str) -> RehearsalVault:
    service = HsmService(find_module())
    service.select(label=label)
    service.login(SecretPin(os.environ["REHEARSAL_VAULT_PIN"]))
    return RehearsalVault(service, vault_name="rehearsal-vault")


def create_kek(args) -> None:
    vault = _vault(args.token)
    kek = vault.create_kek(args.name, args.bits)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.pem").write_bytes(kek.public_pem)
    (args.out / f"{args.name}.kid").write_text(kek.kid + "\n")
    (args.out / f"{args.name}.json").write_text(json.dumps(kek.show_json(), indent=2) + "\n")
    vault.service.close()
    print(kek.kid)


def import_all(args) -> None:
    record = json.loads((args.ceremony / "record.json").read_bytes())
    keks = {k["name"]: k for k in record["keks"]}
    vault = _vault(args.token)
    try:
        for key in record["keys"]:
            kid = keks[key["kek"]]["kid"]
            package = parse_byok((args.ceremony / key["files"]["byok"]).read_bytes(), kid)
            version = parse_kid(kid).version
            kek = VaultKek(kid, b"", bytes.fromhex(version), keks[key["kek"]]["bits"])
            spec = KeySpec(key["type"], key["size"], key["curve"])
            expected = key["kcv"] or _spki_hex(args.ceremony / key["files"]["public_key"])
            result = vault.import_byok(kek, package.ciphertext, spec, expected)
            print(f"vault imported {key['name']} ({spec}): {result.evidence}")
    finally:
        vault.service.close()


def _spki_hex(path: Path) -> str:
    public = load_pem_public_key(path.read_bytes())
    return public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo).hex()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-kek")
    create.add_argument("--token", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--bits", type=int, default=4096)
    create.add_argument("--out", type=Path, required=True)
    create.set_defaults(handler=create_kek)
    imports = sub.add_parser("import")
    imports.add_argument("--token", required=True)
    imports.add_argument("--ceremony", type=Path, required=True)
    imports.set_defaults(handler=import_all)
    args = parser.parse_args()
    try:
        args.handler(args)
    except CeremonyError as error:
        print(error.line(), file=sys.stderr)
        return int(error.exit_code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
