"""What an interrupted ceremony already did, read back from its journal.

Resume trusts nothing but the journal: a key counts as created only when its key-created line
is there, a file counts as written only when its key-exported line lists it. Anything else in
the directory is debris from the crash, discarded (and journaled as discarded) and redone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ceremony.errors import BadInputError
from ceremony.events import Kind
from ceremony.hsm.keys import KeyFacts, KeyRef
from ceremony.journal import TornTail, read_entries, verify_journal
from ceremony.plan_model import KeyEntry, Plan
from ceremony.record import OUTPUT_EXCLUDED

# The documents and the signed record files (every fixed file but the journal) are redone.
REDONE_AT_THE_END = ("runbook.md", "report.md",
                     *(name for name in OUTPUT_EXCLUDED if name != "journal.jsonl"))


@dataclass
class CeremonyState:
    intents: dict[str, bytes] = field(default_factory=dict)  # key name -> CKA_ID
    created: dict[str, dict] = field(default_factory=dict)  # key name -> key-created data
    confirmed: set[str] = field(default_factory=set)
    keks_confirmed: set[str] = field(default_factory=set)
    exported: dict[str, dict] = field(default_factory=dict)  # key name -> files, az command
    acknowledged: set[str] = field(default_factory=set)
    destroy_confirmed: set[str] = field(default_factory=set)
    destroyed: set[str] = field(default_factory=set)
    signer_intent: bytes | None = None
    signer_ready: bool = False
    signer_created: bool = False
    aborted: bool = False

    def journaled_facts(self, key: KeyEntry) -> KeyFacts:
        """A key's facts as its key-created line recorded them (for a key already destroyed)."""
        data = self.created[key.name]
        ref = KeyRef(key.label, bytes.fromhex(data["key_id"]), key.spec)
        return KeyFacts(ref, data["fingerprint"], data["kcv"], None, data["attributes"])

    def debris(self, directory: Path) -> list[Path]:
        """Files the journal does not account for: half-written or written after the last line."""
        journaled = {f for entry in self.exported.values() for f in entry["files"]}
        found = []
        for path in sorted(directory.rglob("*")):
            relative = path.relative_to(directory).as_posix()
            if not path.is_file() or relative in ("plan.toml", "journal.jsonl"):
                continue
            if path.name.endswith(".part") or relative in REDONE_AT_THE_END:
                found.append(path)
            elif relative.startswith("keys/") and relative not in journaled:
                found.append(path)
        return found


def read_state(
    directory: Path, plan: Plan, *, aborting: bool = False,
) -> tuple[CeremonyState, TornTail | None]:
    """The state the journal shows; refuses a finished or aborted ceremony unless `aborting`."""
    journal = directory / "journal.jsonl"
    if not journal.is_file() or not (directory / "plan.toml").is_file():
        raise BadInputError(
            "not-a-ceremony", f"{directory} holds no journal.jsonl and plan.toml",
            "Give the directory of the interrupted ceremony",
        )
    summary = verify_journal(journal, allow_torn_tail=True)
    state = CeremonyState()
    for entry in read_entries(journal, allow_torn_tail=True):
        _apply(state, entry.type, entry.data, aborting)
    if (directory / "plan.toml").read_bytes() != plan.path.read_bytes():
        raise BadInputError(
            "plan-changed", f"plan file {plan.path} differs from {directory / 'plan.toml'}",
            "Resume with the plan the ceremony started with",
        )
    return state, summary.torn_tail


def _apply(state: CeremonyState, kind: str, data: dict, aborting: bool) -> None:
    name = data.get("name")
    if kind == Kind.CEREMONY_COMPLETED:
        raise BadInputError(
            "ceremony-complete", f"ceremony {data.get('directory')} is already complete",
            "Check it with `ceremony verify`; there is nothing to resume",
        )
    if kind == Kind.ABORTED and not aborting:
        raise BadInputError(
            "ceremony-aborted", "this ceremony was aborted", "Start a new ceremony",
        )
    if kind == Kind.ABORTED:
        state.aborted = True
    elif kind == Kind.SIGNER_INTENT:
        state.signer_intent = bytes.fromhex(data["key_id"])
    elif kind == Kind.KEY_INTENT:
        state.intents[name] = bytes.fromhex(data["key_id"])
    elif kind == Kind.KEY_CREATED:
        state.created[name] = data
    elif kind == Kind.SIGNER_READY:
        state.signer_ready = True
        state.signer_created = data["created"]
    elif kind == Kind.KEK_CONFIRMED:
        state.keks_confirmed.add(name)
    elif kind == Kind.KEY_CONFIRMED:
        state.confirmed.add(name)
    elif kind == Kind.KEY_EXPORTED:
        state.exported[name] = {"files": data["files"],
                                "az_import_command": data["az_import_command"]}
    elif kind == Kind.ACKNOWLEDGED:
        state.acknowledged.add(name)
    elif kind == Kind.DESTROY_CONFIRMED:
        state.destroy_confirmed.add(name)
    elif kind == Kind.KEY_DESTROYED:
        state.destroyed.add(name)
