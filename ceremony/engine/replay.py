"""What an interrupted ceremony already did, read back from its journal without trusting it.

Anyone who can write the directory of an interrupted ceremony (the transfer media, a shared
folder) can edit its journal and chain the lines again. So resume and abort believe only:
- what a seal covers (seals.py): a step a sealed line records is not done again; lines after
  the last seal are redone, except that ceremony-completed and ceremony-aborted still stop the
  tool, since believing them can only make it do less;
- CKA_IDs they derive themselves (identity.py): a journaled CKA_ID that differs from the derived
  one is refused as tampering, sealed or not, and no CKA_ID is ever taken from the journal;
- a first line that describes this very directory and plan: a copy of the directory must not
  finish or abort the ceremony a second time.
Every field is read with its type checked, so a damaged line is a one-line diagnosis naming the
line and the field (exit 4), never a crash. A key's files count as written only when a sealed
key-exported line lists them; any other file under keys/, and the documents and record files,
are debris from the interruption: discarded (journaled as discarded) and written again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from ceremony import layout
from ceremony.digests import sha256_hex
from ceremony.engine import events as ev
from ceremony.engine import identity
from ceremony.engine.events import EventKind
from ceremony.errors import BadInputError, VerificationError
from ceremony.files import read_file
from ceremony.hsm.types import KeyFacts, KeyRef
from ceremony.journal import Entry, TornTail, scan
from ceremony.layout import CeremonyDir
from ceremony.plan.load import load_plan
from ceremony.plan.model import KeyEntry, Plan
from ceremony.seals import check_seals

# The documents and the signed record files (every fixed file but the journal) are redone.
REDONE_AT_THE_END = (layout.RUNBOOK, layout.REPORT, layout.RECORD, layout.SIGNATURE,
                     layout.SIGNER)
# Lines that name one of the plan's keys and carry its CKA_ID.
_KEY_ID_LINES = (ev.KeyIntent, ev.KeyCreated, ev.DestroyConfirmed, ev.KeyDestroyed)


@dataclass(frozen=True)
class Genesis:
    """The journal's first line: which ceremony, plan and directory, and the KEKs it began with."""

    ceremony: str
    plan: Path
    plan_sha256: str
    directory: Path
    keks: dict[str, str]  # KEK name -> SHA-256 fingerprint of the file loaded at the start
    line_hash: str


def read_genesis(journal: Path) -> Genesis:
    """The first line of a journal, checked; BadInputError when it has no complete line."""
    return _first(scan(journal, allow_torn_tail=True)[0], journal)


def plan_of(directory: Path, override: Path | None = None) -> Plan:
    """The plan of the ceremony in `directory`: the one its journal names, or `override`.

    The engine then works on `directory` itself and refuses it unless the journal began there
    (_check_place), so a copy of a ceremony directory is never finished or aborted.
    """
    journal = CeremonyDir(directory).journal
    if not journal.is_file():
        raise BadInputError(
            "not-a-ceremony", f"{directory} holds no journal.jsonl",
            "Give the directory of the interrupted ceremony",
        )
    return load_plan(override or read_genesis(journal).plan, resuming=True)


def _first(entries: list[Entry], journal: Path) -> Genesis:
    if not entries:
        raise BadInputError(
            "journal-empty", f"{journal} holds no complete line, so it does not say which "
            "ceremony ran there", "Give the directory of an interrupted ceremony",
        )
    return genesis_of(entries[0], journal)


def genesis_of(entry: Entry, journal: Path) -> Genesis:
    """The Genesis a journal's first line describes (checked field by field)."""
    if entry.type != EventKind.CEREMONY_STARTED:
        raise VerificationError(
            "journal-bad-start", f"{journal} line 1 is {entry.type}, not "
            f"{EventKind.CEREMONY_STARTED}", ev.EDITED,
        )
    first = ev.CeremonyStarted.from_entry(entry, str(journal))
    return Genesis(
        ceremony=first.ceremony, plan=Path(first.plan), plan_sha256=first.plan_sha256,
        directory=Path(first.directory), keks=first.keks, line_hash=entry.line_hash,
    )


@dataclass
class CeremonyState:
    genesis: Genesis
    sealed: int = 0  # lines 1..sealed are covered by a seal
    created: dict[str, dict] = field(default_factory=dict)  # key name -> key-created data
    confirmed: set[str] = field(default_factory=set)
    keks_confirmed: set[str] = field(default_factory=set)
    # Every fingerprint journaled for a KEK, sealed or not: (line, fingerprint).
    kek_fingerprints: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    exported: dict[str, dict] = field(default_factory=dict)  # key name -> files, az command
    acknowledged: set[str] = field(default_factory=set)
    destroy_confirmed: set[str] = field(default_factory=set)
    destroyed: set[str] = field(default_factory=set)
    signer_ready: bool = False
    aborted: bool = False

    def key_id(self, name: str) -> bytes:
        return identity.key_id(self.genesis.line_hash, name)

    @property
    def signer_id(self) -> bytes:
        return identity.signer_id(self.genesis.line_hash)

    def journaled_facts(self, key: KeyEntry) -> KeyFacts:
        """A key's facts as its sealed key-created line recorded them (key already destroyed)."""
        data = self.created[key.name]
        ref = KeyRef(key.label, self.key_id(key.name), key.spec)
        return KeyFacts(ref, data["fingerprint"], data["kcv"], None, data["attributes"])

    def debris(self, directory: Path) -> list[Path]:
        """Files the journal does not account for: half-written or written after the last seal."""
        journaled = {f for entry in self.exported.values() for f in entry["files"]}
        found = []
        for path in sorted(directory.rglob("*")):
            relative = path.relative_to(directory).as_posix()
            if not path.is_file() or relative in (layout.PLAN, layout.JOURNAL):
                continue
            unjournaled_key_file = (relative.startswith(f"{layout.KEYS}/")
                                    and relative not in journaled)
            if (path.name.endswith(".part") or relative in REDONE_AT_THE_END
                    or unjournaled_key_file):
                found.append(path)
        return found


def read_state(
    directory: Path, plan: Plan, signer_public: bytes | None, *, aborting: bool = False,
) -> tuple[CeremonyState, TornTail | None]:
    """The state the journal shows, believing only sealed lines; refuses a finished or aborted
    ceremony (unless `aborting`), a copied directory and a plan that is not the one it ran.

    `signer_public` is the token's ceremony signer (SubjectPublicKeyInfo DER), or None.
    """
    journal = CeremonyDir(directory).journal
    if not journal.is_file() or not CeremonyDir(directory).plan.is_file():
        raise BadInputError(
            "not-a-ceremony", f"{directory} holds no journal.jsonl and plan.toml",
            "Give the directory of the interrupted ceremony",
        )
    entries, torn = scan(journal, allow_torn_tail=True)
    genesis = _first(entries, journal)
    _check_place(directory, genesis, plan)
    state = CeremonyState(genesis)
    state.sealed = check_seals(entries, _signer_key(signer_public), str(journal), "the token")
    keys = {key.name for key in plan.keys}
    for entry in entries:
        payload = ev.payload_of(entry, str(journal))
        if payload is not None:
            _apply(state, entry, payload, Reading(str(journal), keys, aborting))
    return state, torn


@dataclass(frozen=True)
class Reading:
    """What applying a journal line needs besides the line: where it is, the plan's key names,
    and whether an abort is reading (which may go on past a ceremony-aborted line)."""

    source: str
    keys: set[str]
    aborting: bool


def _signer_key(public_der: bytes | None) -> ec.EllipticCurvePublicKey | None:
    if public_der is None:
        return None
    try:
        key = load_der_public_key(public_der)
    except (ValueError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise VerificationError(
            "signer-key-invalid", "the token's ceremony signer has no EC public key",
            "Compare the token with the paper log",
        )
    return key


def _check_place(directory: Path, genesis: Genesis, plan: Plan) -> None:
    """The journal began in this directory, with this plan, and plan.toml is still that plan."""
    here = directory.resolve()
    if genesis.directory != here:
        raise BadInputError(
            "ceremony-elsewhere",
            f"{directory} is not the directory ceremony {genesis.ceremony} ran in: its journal "
            f"names {genesis.directory}",
            "Resume or abort the ceremony in that directory (move it back if it moved); a copy "
            "must never finish or abort a ceremony a second time",
        )
    copy = CeremonyDir(directory).plan
    if sha256_hex(read_file(copy)) != genesis.plan_sha256:
        raise VerificationError(
            "plan-copy-changed", f"{copy} is not the plan ceremony {genesis.ceremony} started "
            "with: its SHA-256 differs from the journal's", ev.EDITED,
        )
    if plan.sha256 != genesis.plan_sha256:
        raise BadInputError(
            "plan-changed", f"plan file {plan.path} differs from {copy}",
            "Resume with the plan the ceremony started with",
        )


def _apply(state: CeremonyState, entry: Entry, payload: ev.Payload, reading: Reading) -> None:
    if isinstance(payload, ev.CeremonyCompleted):
        raise BadInputError(
            "ceremony-complete", f"ceremony {payload.directory} is already complete",
            "Check it with `ceremony verify`; there is nothing to resume",
        )
    if isinstance(payload, ev.CeremonyAborted):
        if not reading.aborting:
            raise BadInputError(
                "ceremony-aborted", "this ceremony was aborted", "Start a new ceremony",
            )
        state.aborted = True
    _check_ids(state, entry, payload, reading)
    if isinstance(payload, ev.KekConfirmed):
        fingerprints = state.kek_fingerprints.setdefault(payload.name, [])
        fingerprints.append((entry.seq, payload.fingerprint))
    if entry.seq <= state.sealed:
        _apply_sealed(state, payload)


def _check_ids(state: CeremonyState, entry: Entry, payload: ev.Payload,
               reading: Reading) -> None:
    """Every CKA_ID the journal names is the one this ceremony derives, sealed or not."""
    if isinstance(payload, ev.SignerIntent):
        name, expected = "the signer", state.signer_id
    elif isinstance(payload, _KEY_ID_LINES):
        name = payload.name
        if name not in reading.keys:
            raise ev.field_invalid(entry, reading.source, "name",
                                   f"names key {name!r}, which the plan does not have")
        expected = state.key_id(name)
    else:
        return
    if bytes.fromhex(payload.key_id) != expected:
        raise VerificationError(
            "journal-foreign-key-id",
            f"{reading.source} line {entry.seq} ({entry.type}) gives {name} the CKA_ID "
            f"{payload.key_id}, but this ceremony's CKA_ID for it is {expected.hex()}",
            "Someone edited the journal to point at another object: nothing was touched; keep "
            "the directory as evidence",
        )


def _apply_sealed(state: CeremonyState, payload: ev.Payload) -> None:
    match payload:
        case ev.KeyCreated():
            state.created[payload.name] = {"fingerprint": payload.fingerprint,
                                           "kcv": payload.kcv, "attributes": payload.attributes}
        case ev.SignerReady():
            state.signer_ready = True
        case ev.KekConfirmed():
            state.keks_confirmed.add(payload.name)
        case ev.KeyConfirmed():
            state.confirmed.add(payload.name)
        case ev.KeyExported():
            state.exported[payload.name] = {"files": payload.files,
                                            "az_import_command": payload.az_import_command}
        case ev.Acknowledged():
            state.acknowledged.add(payload.name)
        case ev.DestroyConfirmed():
            state.destroy_confirmed.add(payload.name)
        case ev.KeyDestroyed():
            state.destroyed.add(payload.name)
