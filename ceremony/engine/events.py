"""What the engine tells its front ends: typed, frozen events.

The journal persists them, the TUI renders them, the CLI prints them as text or JSON lines.
An event's `data` is exactly what the journal stores, so the screen, the JSON lines and the
evidence never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Kind(StrEnum):
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


@dataclass(frozen=True)
class Event:
    kind: Kind
    message: str  # one line for a person
    data: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    seq: int = 0  # the journal line that holds it

    @classmethod
    def make(cls, kind: Kind, message: str, seq: int = 0, **data: Any) -> Event:
        return cls(kind, message, MappingProxyType(dict(data)), seq)

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": str(self.kind), "message": self.message,
                "data": dict(self.data)}
