"""Assemble the ceremony record (docs/record-format.md) from the plan, the engine and the journal.

Acknowledgements and times come from the journal, not from memory, so a resumed ceremony's
record holds what every run of it did.
"""

from __future__ import annotations

from ceremony import __version__, layout
from ceremony.digests import sha256_hex
from ceremony.engine import events as ev
from ceremony.files import read_file
from ceremony.hsm.types import KeyFacts, KeyRef, SelfTestResult, TokenInfo
from ceremony.journal import Journal, read_entries
from ceremony.plan.coverage import coverage_for
from ceremony.plan.model import KeyEntry, Plan
from ceremony.record.canonical import RECORD_FORMAT
from ceremony.seals import believed, not_believed

IMPORTED_NOTE = (
    "imported key: LOCAL=false and ALWAYS_SENSITIVE=false, as for every key not generated on "
    "this token; its secret existed outside this HSM before the import"
)


def _acknowledgement(payload: ev.Payload) -> tuple[str, str] | None:
    """Who did what, in the record's words, when a journal line records a participant's act."""
    match payload:
        case ev.KekConfirmed():
            return payload.by, (f"confirmed the fingerprint of KEK {payload.name} against the "
                                "one noted online")
        case ev.KeyConfirmed():
            return payload.by, f"confirmed the read-back of key {payload.name}'s fingerprint"
        case ev.Acknowledged():
            return payload.name, payload.statement
    return None


class RecordBuilder:
    def __init__(self, plan: Plan, operator) -> None:
        self.plan = plan
        self.operator = operator
        self.token: TokenInfo | None = None
        self.self_test: SelfTestResult | None = None
        self.signer_ref: KeyRef | None = None
        self.signer_facts: KeyFacts | None = None
        self.signer_created = False
        self.keys: dict[str, KeyFacts] = {}
        self.exported: dict[str, dict] = {}
        self.destroyed: set[str] = set()
        self.completed: str | None = None

    def set_signer(self, facts: KeyFacts, created: bool) -> None:
        self.signer_ref, self.signer_facts, self.signer_created = facts.ref, facts, created

    def token_json(self) -> dict:
        info = self.token.to_json()
        return {name: info[name] for name in (
            "label", "serial", "manufacturer", "model", "hardware_version", "firmware_version",
            "library", "library_version")}

    def statement(self) -> str:
        keys = ", ".join(
            f"{k.name} ({k.spec}, {'imported into' if k.origin == 'import' else 'generated in'}"
            " the HSM)" for k in self.plan.keys)
        return (f"I witnessed ceremony {self.plan.ceremony.id} on token {self.token.label} "
                f"(serial {self.token.serial}): keys {keys}; their fingerprints were read "
                "back and their BYOK packages were written.")

    def draft(self, journal: Journal) -> dict:
        """The record without `outputs` and the journal head: what the documents render.

        `completed` is fixed at the first draft, so the documents and the record agree.
        """
        return self._draft(journal, read_entries(journal.path))

    def _draft(self, journal: Journal, lines: list) -> dict:
        entries = believed(lines)
        self.completed = self.completed or entries[-1].time
        plan = self.plan
        previous = plan.ceremony.previous_record
        return {
            "format": RECORD_FORMAT,
            "tool": {"name": "cmk-ceremony", "version": __version__},
            "ceremony": {"id": plan.ceremony.id, "purpose": plan.ceremony.purpose,
                         "workspaces": list(plan.ceremony.workspaces),
                         "started": entries[0].time, "completed": self.completed},
            "plan": {"file": layout.PLAN, "sha256": plan.sha256},
            "operator": {"kind": self.operator.kind, "scripted": self.operator.scripted},
            "participants": self._participants(entries, str(journal.path)),
            "token": self.token_json(),
            "self_test": {"kwp_mechanism": self.self_test.kwp_mechanism,
                          "zero_padding": self.self_test.zero_padding,
                          "checked": list(self.self_test.checked),
                          "warnings": list(self.self_test.warnings)},
            "wrap_policy": plan.hsm.wrap_policy,
            "keks": [self._kek(entry) for entry in plan.keks],
            "keys": [self._key(key) for key in plan.keys],
            "coverage": [report.to_json() for report in coverage_for(plan)],
            "signer": {"label": self.signer_ref.label, "key_id": self.signer_ref.key_id.hex(),
                       "algorithm": "ECDSA P-384 SHA-384",
                       "fingerprint_sha256": self.signer_facts.fingerprint,
                       "created_in_this_ceremony": self.signer_created},
            "previous_record_sha256":
                sha256_hex(read_file(previous, "previous record")) if previous else None,
        }

    def final(self, journal: Journal, outputs: dict[str, str]) -> dict:
        lines = read_entries(journal.path)  # read once for the draft and what was not believed
        record = self._draft(journal, lines)
        record["outputs"] = outputs
        record["journal"] = {"file": layout.JOURNAL, "entries": journal.entries,
                             "head": journal.head, "not_believed": [
                                 list(ranges) for ranges in not_believed(lines)]}
        return record

    def _participants(self, entries, source: str) -> list[dict]:
        acks: dict[str, list[dict]] = {}
        for entry in entries:
            payload = ev.payload_of(entry, source)
            act = _acknowledgement(payload)
            if act is not None:
                who, statement = act
                acks.setdefault(who, []).append({"statement": statement, "time": entry.time,
                                                 "scripted": payload.scripted})
        return [{"name": p.name, "role": p.role, "acknowledgements": acks.get(p.name, [])}
                for p in self.plan.participants]

    @staticmethod
    def _kek(entry) -> dict:
        kid = entry.kek.kid
        return {"name": entry.name, "kid": kid.url, "vault_kind": kid.vault_kind,
                "vault_name": kid.vault_name, "cloud": kid.cloud, "bits": entry.kek.bits,
                "fingerprint_sha256": entry.kek.fingerprint}

    def _key(self, key: KeyEntry) -> dict:
        facts = self.keys[key.name]
        exported = self.exported[key.name]
        files = sorted(exported["files"])
        public = next((f for f in files if f.endswith(".pub.pem")), None)
        return {
            "name": key.name, "label": key.label, "key_id": facts.ref.key_id.hex(),
            "type": key.spec.kind, "size": key.spec.size, "curve": key.spec.curve,
            "origin": key.origin, "fingerprint_sha256": facts.fingerprint, "kcv": facts.kcv,
            "attributes": facts.attributes, "wrap_policy": self.plan.hsm.wrap_policy,
            "kek": key.kek, "azure_name": key.azure_name, "key_ops": list(key.key_ops),
            "features": list(key.features), "workspaces": list(key.workspaces),
            "after_export": key.after_export, "destroyed": key.name in self.destroyed,
            "files": {"byok": next(f for f in files if f.endswith(".byok")),
                      "public_key": public,
                      "az_import": next(f for f in files if f.endswith(".az-import.txt"))},
            "az_import_command": exported["az_import_command"],
            "notes": [IMPORTED_NOTE] if key.origin == "import" else [],
        }
