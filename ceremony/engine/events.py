"""What the engine tells its front ends: typed, frozen events, one payload class per kind.

Each journal line is an event: its `type` is the EventKind, its `data` the payload's fields plus
the `message` a person read (docs/record-format.md lists them). Payloads are written with
`to_data` and read back with `from_entry`, which checks every field the way a hostile file needs
(a missing field, a wrong type or a CKA_ID that is not lowercase hex is journal-field-invalid,
exit 4), so the engine, the journal replay and the record builder read the same typed values.
Two kinds are transient: told to front ends, never journaled (engine/steps.py).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from types import MappingProxyType, NoneType
from typing import Any, ClassVar

from ceremony.errors import VerificationError
from ceremony.journal import Entry

EDITED = "The journal was damaged or edited after it was written; keep it as evidence"


class EventKind(StrEnum):
    CEREMONY_STARTED = "ceremony-started"
    RESUMED = "resumed"
    FILE_DISCARDED = "file-discarded"
    KEK_CONFIRMED = "kek-confirmed"
    TOKEN_SELECTED = "token-selected"
    TRUSTED_STAGED = "trusted-wrapping-staged"
    FINAL_TRY_CONFIRMED = "final-pin-try-confirmed"
    LOGGED_IN = "logged-in"
    SELF_TEST = "self-test-passed"
    WARNING = "warning"
    KEY_INTENT = "key-intent"
    SIGNER_INTENT = "signer-intent"
    KEY_CREATED = "key-created"
    SIGNER_READY = "signer-ready"
    KEY_CONFIRMED = "key-confirmed"
    KEY_EXPORTED = "key-exported"
    ACKNOWLEDGED = "acknowledged"
    DESTROY_CONFIRMED = "destroy-confirmed"
    KEY_DESTROYED = "key-destroyed"
    DOCUMENTS_WRITTEN = "documents-written"
    RECORD_SIGNED = "record-signed"
    VERIFIED = "verified"
    CEREMONY_COMPLETED = "ceremony-completed"
    STEP_FAILED = "step-failed"
    INTERRUPTED = "interrupted"
    ABORTED = "ceremony-aborted"
    PACKAGE_WITHDRAWN = "package-withdrawn"
    SEALED = "journal-sealed"
    # Transient: told to front ends, never journaled (engine/steps.py).
    STEPS_PLANNED = "steps-planned"
    STEP_STARTED = "step-started"


# Each field type a payload uses: the JSON types that carry it, and how a message names them.
_SHAPES: dict[object, tuple[tuple[type, ...], str]] = {
    str: ((str,), "a string"),
    str | None: ((str, NoneType), "a string or null"),
    bool: ((bool,), "true or false"),
    int: ((int,), "a whole number"),
    dict[str, str]: ((dict,), "an object of strings"),
    dict[str, Any]: ((dict,), "an object"),
    list[str]: ((list,), "a list of strings"),
    list[dict[str, str]]: ((list,), "a list of objects"),
}


@dataclass(frozen=True)
class Payload:
    """The data of one kind of event; subclasses name their kind and their fields."""

    kind: ClassVar[EventKind]

    def to_data(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_entry(cls, entry: Entry, source: str) -> Payload:
        """The payload of journal line `entry` of `source`, every field checked."""
        values = {}
        for name, shape in _hints(cls).items():
            values[name] = _field(entry, source, name, shape)
        return cls(**values)


@cache
def _hints(cls: type[Payload]) -> dict[str, object]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def field_invalid(entry: Entry, source: str, name: str, what: str) -> VerificationError:
    return VerificationError(
        "journal-field-invalid",
        f"{source} line {entry.seq} ({entry.type}) field {name} {what}", EDITED,
    )


def _field(entry: Entry, source: str, name: str, shape: object) -> Any:
    kinds, what = _SHAPES[shape]
    value = entry.data.get(name, _MISSING)
    if type(value) not in kinds:
        raise field_invalid(entry, source, name, f"is missing or not {what}")
    if shape == dict[str, str] and not all(
            type(k) is str and type(v) is str for k, v in value.items()):
        raise field_invalid(entry, source, name, f"is not {what}")
    if shape == list[str] and not all(type(v) is str for v in value):
        raise field_invalid(entry, source, name, f"is not {what}")
    if name == "key_id" and not _lowercase_hex(value):
        raise field_invalid(entry, source, name, "is not lowercase hex")
    return value


def _lowercase_hex(value: str) -> bool:
    try:
        data = bytes.fromhex(value)
    except ValueError:
        return False
    return bool(data) and data.hex() == value


_MISSING = object()


def _payload(kind: EventKind):
    def register(cls):
        cls.kind = kind
        PAYLOADS[kind] = cls
        return dataclass(frozen=True)(cls)
    return register


PAYLOADS: dict[EventKind, type[Payload]] = {}


@_payload(EventKind.CEREMONY_STARTED)
class CeremonyStarted(Payload):
    """The first line: what identifies the ceremony (identity.py) and what resume checks."""

    ceremony: str
    plan: str
    plan_sha256: str
    directory: str
    keks: dict[str, str]  # KEK name -> SHA-256 fingerprint of the file loaded at the start
    tool_version: str
    operator: str


@_payload(EventKind.RESUMED)
class Resumed(Payload):
    operator: str
    sealed_lines: int  # the last line a seal vouched for: later ones were done again
    dropped_torn_line: str | None


@_payload(EventKind.FILE_DISCARDED)
class FileDiscarded(Payload):
    file: str


@_payload(EventKind.KEK_CONFIRMED)
class KekConfirmed(Payload):
    name: str
    kid: str
    fingerprint: str
    by: str
    scripted: bool


@_payload(EventKind.TOKEN_SELECTED)
class TokenSelected(Payload):
    label: str
    serial: str
    manufacturer: str
    model: str
    hardware_version: str
    firmware_version: str
    library: str
    library_version: str


@_payload(EventKind.TRUSTED_STAGED)
class TrustedStaged(Payload):
    keks: list[str]  # the KEKs' fingerprints
    ephemeral_keys: int


@_payload(EventKind.FINAL_TRY_CONFIRMED)
class FinalTryConfirmed(Payload):
    role: str
    scripted: bool


@_payload(EventKind.LOGGED_IN)
class LoggedIn(Payload):
    pass


@_payload(EventKind.SELF_TEST)
class SelfTestPassed(Payload):
    kwp_mechanism: str
    zero_padding: int
    warnings: list[str]


@_payload(EventKind.WARNING)
class WarningGiven(Payload):
    pass


@_payload(EventKind.KEY_INTENT)
class KeyIntent(Payload):
    name: str
    label: str
    key_id: str
    origin: str


@_payload(EventKind.SIGNER_INTENT)
class SignerIntent(Payload):
    key_id: str


@_payload(EventKind.KEY_CREATED)
class KeyCreated(Payload):
    name: str
    label: str
    key_id: str
    type: str
    fingerprint: str | None
    kcv: str | None
    attributes: dict[str, Any]


@_payload(EventKind.SIGNER_READY)
class SignerReady(Payload):
    key_id: str
    fingerprint: str
    created: bool


@_payload(EventKind.KEY_CONFIRMED)
class KeyConfirmed(Payload):
    name: str
    by: str
    scripted: bool


@_payload(EventKind.KEY_EXPORTED)
class KeyExported(Payload):
    name: str
    files: dict[str, str]  # path in the ceremony directory -> SHA-256
    az_import_command: str


@_payload(EventKind.ACKNOWLEDGED)
class Acknowledged(Payload):
    name: str
    role: str
    statement: str
    scripted: bool


@_payload(EventKind.DESTROY_CONFIRMED)
class DestroyConfirmed(Payload):
    name: str
    key_id: str
    scripted: bool


@_payload(EventKind.KEY_DESTROYED)
class KeyDestroyed(Payload):
    name: str
    key_id: str
    objects: int


@_payload(EventKind.DOCUMENTS_WRITTEN)
class DocumentsWritten(Payload):
    pass


@_payload(EventKind.RECORD_SIGNED)
class RecordSigned(Payload):
    sha256: str


@_payload(EventKind.VERIFIED)
class Verified(Payload):
    pass


@_payload(EventKind.CEREMONY_COMPLETED)
class CeremonyCompleted(Payload):
    directory: str
    record_sha256: str
    signer_fingerprint: str


@_payload(EventKind.STEP_FAILED)
class StepFailure(Payload):
    code: str
    error: str
    hint: str | None


@_payload(EventKind.INTERRUPTED)
class Interrupted(Payload):
    step: str
    cause: str  # SIGINT or SIGTERM


@_payload(EventKind.ABORTED)
class CeremonyAborted(Payload):
    keys: list[str]
    scripted: bool


@_payload(EventKind.PACKAGE_WITHDRAWN)
class PackageWithdrawn(Payload):
    file: str
    sha256: str


@_payload(EventKind.SEALED)
class JournalSealed(Payload):
    line: int
    signature: str  # base64 DER ECDSA P-384 / SHA-384 over the line's bytes (seals.py)


@_payload(EventKind.STEPS_PLANNED)
class StepsPlanned(Payload):
    steps: list[dict[str, str]]  # each {"id": ..., "title": ...}


@_payload(EventKind.STEP_STARTED)
class StepStarted(Payload):
    step: str


def payload_of(entry: Entry, source: str) -> Payload | None:
    """The typed payload of a journal line, checked; None for a type no ceremony writes."""
    cls = PAYLOADS.get(entry.type)
    return None if cls is None else cls.from_entry(entry, source)


@dataclass(frozen=True)
class Event:
    payload: Payload
    message: str  # one line for a person
    seq: int = 0  # the journal line that holds it; 0 for a transient event
    data: MappingProxyType = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", MappingProxyType(self.payload.to_data()))

    @property
    def kind(self) -> EventKind:
        return self.payload.kind

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": str(self.kind), "message": self.message,
                "data": dict(self.data)}
