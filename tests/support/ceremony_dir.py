"""A complete, valid ceremony directory made in software, for testing verification.

The engine makes ceremony directories on a token; this builder makes the same files without
one, so `ceremony verify` can be tested quickly against every kind of damage: plan.toml, a real
hash-chained journal (ceremony.journal.Journal), real `.byok` packages (wrap_for_test under
software KEKs, build_byok), public keys, az import commands, runbook.md, report.md, and a record
following docs/record-format.md. The record is signed with a software EC P-384 key that stands
in for the HSM signer; in a real ceremony the signer key never leaves the token.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from ceremony import __version__
from ceremony.azure.az_commands import az_import_command
from ceremony.azure.byok import build_byok, generator_string
from ceremony.azure.kid import parse_kid
from ceremony.databricks.catalog import load_catalog
from ceremony.databricks.coverage import coverage
from ceremony.digests import public_der, public_key_fingerprint, sha256_hex
from ceremony.files import write_all_exclusive
from ceremony.journal import Journal, read_entries
from ceremony.keyspec import KeySpec
from ceremony.layout import CeremonyDir
from ceremony.record.canonical import RECORD_FORMAT, SIGNATURE_ALGORITHM, canonical, signer_pem
from ceremony.seals import seal_data
from tests.support.unwrap import wrap_for_test

CEREMONY_ID = "2026-q4-databricks-cmk"
VAULT_KID = (
    "https://contoso-cmk-kv.vault.azure.net/keys/ceremony-kek/f9159784b0331c284decddb3bf318541"
)
MHSM_KID = (
    "https://contoso-mhsm.managedhsm.azure.net/keys/ceremony-kek/0123456789abcdef0123456789abcdef"
)
KEKS = (("contoso-cmk-kv", VAULT_KID), ("contoso-mhsm", MHSM_KID))
WARNING = (
    "token pads key blobs with zero bytes before AES-KWP (5 bytes here); packages from this "
    "token are for rehearsal"
)
GENERATOR = generator_string(__version__, "SoftHSM project", "SoftHSM v2", "2.6")
WITNESS_STATEMENT = "I watched every key being created inside the HSM and exported"
RECORD_COVERS = 16  # journal lines before the record: 8 lines, each sealed (ceremony/seals.py)
JOURNAL_LINES = 22  # then record-signed, verified and ceremony-completed, each sealed


@dataclass(frozen=True)
class _Key:
    name: str
    spec: KeySpec
    kek: str
    features: tuple[str, ...]


KEYS = (
    _Key("managed-services", KeySpec("rsa", 2048), "contoso-cmk-kv", ("managed-services",)),
    _Key("search-aes", KeySpec("aes", 256), "contoso-mhsm", ()),
)


@dataclass(frozen=True)
class SyntheticCeremony:
    """A ceremony directory and the software key that signed its record."""

    directory: Path
    signer: ec.EllipticCurvePrivateKey

    def record(self) -> dict:
        return json.loads((self.directory / "record.json").read_bytes())

    def resign(self, change: Callable[[dict], None]) -> None:
        """List the outputs again, apply `change` to the record, and sign it anew.

        This is a record the signer really signed, so verification must find the fault in the
        record's content, not in its signature.
        """
        record = self.record()
        record["outputs"] = CeremonyDir(self.directory).outputs()
        change(record)
        data = canonical(record)
        (self.directory / "record.json").write_bytes(data)
        (self.directory / "record.json.sig").write_bytes(sign(self.signer, data))


    def reseal(self, signer: ec.EllipticCurvePrivateKey) -> dict:
        """Write the journal again with every line sealed by `signer`, as a forger holding a
        key of their own would; return the record's new `journal` field."""
        path = self.directory / "journal.jsonl"
        entries = read_entries(path)
        path.unlink()
        journal = _SealedJournal(Journal.create(path), signer)
        covered = {}
        for entry in entries:
            if entry.type != "journal-sealed":
                journal.append(entry.type, entry.data)
            if entry.type == "documents-written":
                covered = {"file": "journal.jsonl", "entries": journal.journal.entries,
                           "head": journal.journal.head, "not_believed": []}
        journal.journal.close()
        return covered


def sign(signer: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """DER ECDSA over SHA-384, the signature the HSM makes (hash on host, CKM_ECDSA, DER)."""
    return signer.sign(data, ec.ECDSA(hashes.SHA384()))


@cache
def software_keys() -> dict[str, rsa.RSAPrivateKey]:
    """The two KEKs and the RSA target, made once per test session (RSA generation is slow)."""
    return {name: rsa.generate_private_key(65537, 2048) for name in (*dict(KEKS), "target")}


def build_ceremony(parent: Path, *, previous: Path | None = None) -> SyntheticCeremony:
    """Write `<parent>/<CEREMONY_ID>/` with every file, and return it with its signer key."""
    directory = Path(parent) / CEREMONY_ID
    (directory / "keys").mkdir(parents=True)
    plan = _plan_toml(previous)
    write_all_exclusive({directory / "plan.toml": plan})
    signer = ec.generate_private_key(ec.SECP384R1())
    journal = _SealedJournal(Journal.create(directory / "journal.jsonl"), signer)
    journal.append("ceremony-started", {"id": CEREMONY_ID, "plan_sha256": sha256_hex(plan)})
    journal.append("self-test", {"kwp_mechanism": "AES_KEY_WRAP_PAD", "zero_padding": 5})
    keys = [_export_key(directory, journal, key, index) for index, key in enumerate(KEYS, 1)]
    ack = journal.append("acknowledged", {
        "name": "Wendy Witness", "statement": WITNESS_STATEMENT, "scripted": False,
    })
    write_all_exclusive({
        directory / "runbook.md": b"# Runbook\n\nImport each key with keys/<name>.az-import.txt.\n",
        directory / "report.md": b"# Report\n\nTwo keys; coverage below.\n",
    })
    last = journal.append("documents-written", {"files": ["runbook.md", "report.md"]})
    assert journal.journal.entries == RECORD_COVERS
    record = _record(directory, journal, keys, previous, ack.time, last.time)
    data = canonical(record)
    write_all_exclusive({
        directory / "record.json": data,
        directory / "record.json.sig": sign(signer, data),
        directory / "signer.pub.pem": signer_pem(public_der(signer.public_key())),
    })
    journal.append("record-signed", {"sha256": sha256_hex(data)})
    journal.append("verified", {})
    journal.append("ceremony-completed", {"id": CEREMONY_ID})
    journal.journal.close()
    assert journal.journal.entries == JOURNAL_LINES
    return SyntheticCeremony(directory, signer)


@dataclass(frozen=True)
class _SealedJournal:
    """A journal whose every line is followed by its seal, as the engine writes once its
    signer is ready (ceremony/seals.py)."""

    journal: Journal
    signer: ec.EllipticCurvePrivateKey

    def append(self, kind: str, data: dict):
        entry = self.journal.append(kind, data)
        seal = seal_data(entry, sign(self.signer, entry.raw))
        self.journal.append(str(seal.kind), seal.to_data())
        return entry


def pem_of(key) -> bytes:
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def _export_key(directory: Path, journal: _SealedJournal, key: _Key, index: int) -> dict:
    """Make, wrap and write one key the way the engine does; return its record entry."""
    kid = parse_kid(dict(KEKS)[key.kek])
    key_id = f"{index:02x}" * 8
    if key.spec.kind == "rsa":
        target = software_keys()["target"]
        plain = target.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        public = pem_of(target.public_key())
        fingerprint, kcv = public_key_fingerprint(public_der(target.public_key())), None
    else:
        plain, public, fingerprint, kcv = bytes(range(32)), None, None, "6ad4c2"
    journal.append("key-generated", {"name": key.name, "key_id": key_id,
                                     "fingerprint": fingerprint, "kcv": kcv})
    kek_public = software_keys()[key.kek].public_key()
    byok_name = f"keys/{key.name}.byok"
    command = az_import_command(kid, key.name, key.spec, f"{key.name}.byok")
    files = {
        byok_name: build_byok(kid, wrap_for_test(kek_public, plain), GENERATOR),
        f"keys/{key.name}.az-import.txt": f"{command}\n".encode(),
    }
    if public is not None:
        files[f"keys/{key.name}.pub.pem"] = public
    write_all_exclusive({directory / name: data for name, data in files.items()})
    journal.append("key-exported", {"name": key.name, "files": sorted(files)})
    return {
        "name": key.name, "label": f"cmk-{key.name}", "key_id": key_id, "type": key.spec.kind,
        "size": key.spec.size, "curve": key.spec.curve, "origin": "generate",
        "fingerprint_sha256": fingerprint, "kcv": kcv,
        "attributes": {"CLASS": "SECRET_KEY" if kcv else "PRIVATE_KEY", "LOCAL": True,
                       "SENSITIVE": True, "EXTRACTABLE": True, "WRAP_WITH_TRUSTED": True},
        "wrap_policy": "trusted", "kek": key.kek, "azure_name": key.name,
        "key_ops": ["wrapKey", "unwrapKey"], "features": list(key.features),
        "workspaces": ["adb-analytics-prod"], "after_export": "keep", "destroyed": False,
        "files": {"byok": byok_name,
                  "public_key": f"keys/{key.name}.pub.pem" if public else None,
                  "az_import": f"keys/{key.name}.az-import.txt"},
        "az_import_command": command,
        "notes": [],
    }


def _record(directory, sealed: _SealedJournal, keys, previous, ack_time, completed) -> dict:
    journal, signer = sealed.journal, sealed.signer
    started = json.loads((directory / "journal.jsonl").read_bytes().split(b"\n")[0])["time"]
    report = coverage(load_catalog(), {"managed-services": "managed-services"})
    return {
        "format": RECORD_FORMAT,
        "tool": {"name": "cmk-ceremony", "version": __version__},
        "ceremony": {"id": CEREMONY_ID, "purpose": "Customer-managed keys for analytics",
                     "workspaces": ["adb-analytics-prod"], "started": started,
                     "completed": completed},
        "plan": {"file": "plan.toml", "sha256": sha256_hex((directory / "plan.toml").read_bytes())},
        "operator": {"kind": "scripted", "scripted": True},
        "participants": [
            {"name": "Alice Administrator", "role": "administrator", "acknowledgements": []},
            {"name": "Wendy Witness", "role": "witness", "acknowledgements": [
                {"statement": WITNESS_STATEMENT, "time": ack_time, "scripted": False}]},
        ],
        "token": {"label": "rehearsal", "serial": "5c2a0a7e1f3b9d44", "manufacturer":
                  "SoftHSM project", "model": "SoftHSM v2", "hardware_version": "2.6",
                  "firmware_version": "2.6", "library": "SoftHSM", "library_version": "2.6"},
        "self_test": {"kwp_mechanism": "AES_KEY_WRAP_PAD", "zero_padding": 5,
                      "checked": ["AES-256 raw", "RSA 2048 PKCS#8"], "warnings": [WARNING]},
        "wrap_policy": "trusted",
        "keks": [
            {"name": name, "kid": kid, "vault_kind": parse_kid(kid).vault_kind,
             "vault_name": parse_kid(kid).vault_name, "cloud": parse_kid(kid).cloud,
             "bits": 2048, "fingerprint_sha256":
                 public_key_fingerprint(public_der(software_keys()[name].public_key()))}
            for name, kid in KEKS
        ],
        "keys": keys,
        "coverage": report.to_json(),
        "outputs": CeremonyDir(directory).outputs(),
        "journal": {"file": "journal.jsonl", "entries": journal.entries, "head": journal.head,
                    "not_believed": []},
        "signer": {"label": "cmk-ceremony-signer", "key_id": "5157", "algorithm":
                   SIGNATURE_ALGORITHM, "fingerprint_sha256":
                       public_key_fingerprint(public_der(signer.public_key())),
                   "created_in_this_ceremony": True},
        "previous_record_sha256": sha256_hex(previous.read_bytes()) if previous else None,
    }


def _plan_toml(previous: Path | None) -> bytes:
    chained = f'previous_record = "{previous}"\n' if previous else ""
    return f"""[ceremony]
id = "{CEREMONY_ID}"
purpose = "Customer-managed keys for analytics"
workspaces = ["adb-analytics-prod"]
{chained}
[[participant]]
name = "Alice Administrator"
role = "administrator"

[[participant]]
name = "Wendy Witness"
role = "witness"

[hsm]
token = "rehearsal"
wrap_policy = "trusted"
user_pin = "env:CEREMONY_USER_PIN"
so_pin = "env:CEREMONY_SO_PIN"

[[kek]]
name = "contoso-cmk-kv"
file = "kek-contoso-cmk-kv.pem"
kid = "{VAULT_KID}"

[[kek]]
name = "contoso-mhsm"
file = "kek-contoso-mhsm.pem"
kid = "{MHSM_KID}"

[[key]]
name = "managed-services"
label = "cmk-managed-services"
type = "rsa"
size = 2048
kek = "contoso-cmk-kv"
features = ["managed-services"]

[[key]]
name = "search-aes"
label = "cmk-search-aes"
type = "aes"
size = 256
kek = "contoso-mhsm"
features = []
""".encode()
