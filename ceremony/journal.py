"""The ceremony journal: append-only, hash-chained, fsync'd JSON Lines (journal.jsonl).

DESIGN.md invariant 4: a key created on the token is journaled before the next step starts, so
`append` returns only after the line is on disk. The chain makes the file evidence: each line is
`{"data":...,"prev":...,"seq":...,"time":...,"type":...}` (sorted keys, compact separators,
ASCII), `seq` counts lines from 1, and `prev` is the SHA-256 of the previous line's bytes
including its newline (64 zeros on line 1), so `sed -n 3p journal.jsonl | sha256sum` checks a
link by hand. Editing, deleting or reordering any line but the last breaks a link; the last line
is covered by the head hash, which the record carries.

A crash mid-write leaves a torn last line (no newline). Verification refuses it; resuming may
drop it, but only when asked to (`drop_torn_tail=True`), after `scan(...,
allow_torn_tail=True)` has shown what would go. PINs are never journaled: `append`
refuses any `SecretPin` in the data.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ceremony import strict_json
from ceremony.errors import BadInputError, VerificationError
from ceremony.files import fsync_dir, output_error, read_file, refuse_existing
from ceremony.secret import SecretPin

ZERO_HASH = "0" * 64
_KEYS = {"seq", "time", "type", "data", "prev"}
_TAMPERED = "The journal was damaged or edited after it was written; keep it as evidence"


@dataclass(frozen=True)
class Entry:
    """One journal line, decoded; `line_hash` is the SHA-256 of its bytes with the newline."""

    seq: int
    time: str
    type: str
    data: dict[str, Any]
    prev: str
    line_hash: str
    raw: bytes  # the line's bytes with its newline: what line_hash and a seal are taken of


@dataclass(frozen=True)
class TornTail:
    """The incomplete last line a crash left: its line number, where it starts, its bytes."""

    line: int
    offset: int
    data: bytes


class Journal:
    """An open journal that appends lines; make one with `create` or `open_existing`."""

    def __init__(self, path: Path, fd: int, last: Entry | None, dropped: TornTail | None):
        self.path = path
        self._fd = fd
        self.last = last  # the last line written, None while the journal is empty
        self.dropped = dropped  # the torn tail removed on resume, for the caller to report

    @classmethod
    def create(cls, path: Path | str) -> Journal:
        """Start a new journal; refuse an existing path (O_EXCL, never overwritten)."""
        path = Path(path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, 0o644)
        except FileExistsError:
            refuse_existing(path)
            raise
        except OSError as error:
            raise output_error(path.parent, error) from None
        try:
            os.fsync(fd)
            fsync_dir(path.parent)
        except OSError as error:
            os.close(fd)
            raise output_error(path.parent, error) from None
        return cls(path, fd, None, None)

    @classmethod
    def open_existing(cls, path: Path | str, *, drop_torn_tail: bool = False) -> Journal:
        """Resume: verify the whole chain, then append after its last line.

        A torn last line is refused unless `drop_torn_tail`; then it is cut off (fsync'd) and
        kept in `dropped` so the caller can report and journal what was removed.
        """
        path = Path(path)
        entries, torn = scan(path, allow_torn_tail=drop_torn_tail)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError as error:
            raise output_error(path.parent, error) from None
        try:
            if torn:
                os.ftruncate(fd, torn.offset)
                os.fsync(fd)
        except OSError as error:
            os.close(fd)
            raise output_error(path.parent, error) from None
        return cls(path, fd, entries[-1] if entries else None, torn)

    @property
    def head(self) -> str:
        """SHA-256 hex of the last line's bytes, or 64 zeros when the journal is empty."""
        return self.last.line_hash if self.last else ZERO_HASH

    @property
    def entries(self) -> int:
        return self.last.seq if self.last else 0

    @property
    def closed(self) -> bool:
        """True once closed, or after a failed write left its tail unknown."""
        return self._fd < 0

    def append(self, event_type: str, data: dict[str, Any]) -> Entry:
        """Write one line and fsync it before returning; TypeError for a SecretPin in data."""
        if self._fd < 0:
            raise ValueError(f"journal {self.path} is closed")
        if not isinstance(event_type, str) or not isinstance(data, dict):
            raise TypeError("append takes an event type str and a data dict")
        _refuse_secrets(data, "data")
        seq = self.entries + 1
        time = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        fields = {"seq": seq, "time": time, "type": event_type, "data": data, "prev": self.head}
        line = _encode(fields)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except BaseException as error:
            self.close()  # the tail is now unknown: no further line may chain onto it
            if isinstance(error, OSError):
                raise output_error(self.path.parent, error) from None
            raise
        self.last = Entry(seq, time, event_type, json.loads(line)["data"], fields["prev"],
                          hashlib.sha256(line).hexdigest(), line)
        return self.last

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_entries(path: Path | str, *, allow_torn_tail: bool = False) -> list[Entry]:
    """All complete entries of a verified journal (a torn tail is refused unless allowed)."""
    return scan(path, allow_torn_tail=allow_torn_tail)[0]


def scan(path: Path | str, *, allow_torn_tail: bool = False,
         ) -> tuple[list[Entry], TornTail | None]:
    """Every complete entry of a verified journal, and its torn last line if allowed; a
    VerificationError names the first bad line or link."""
    path = Path(path)
    if not os.path.lexists(path):
        raise BadInputError(
            "journal-missing",
            f"{path} does not exist",
            "Give the journal.jsonl of the ceremony directory",
        )
    content = read_file(path, "journal")  # a directory, FIFO or unreadable file: named
    *lines, tail = content.split(b"\n")
    entries: list[Entry] = []
    prev = ZERO_HASH
    for number, raw in enumerate(lines, start=1):
        entry = _decode(path, number, raw + b"\n")
        if entry.seq != number:
            raise VerificationError(
                "journal-bad-seq",
                f"{path} line {number} has seq {entry.seq}, expected {number}",
                _TAMPERED,
            )
        if entry.prev != prev:
            previous = "64 zeros" if number == 1 else f"the SHA-256 of line {number - 1}"
            raise VerificationError(
                "journal-broken-chain",
                f"{path} line {number} breaks the hash chain: prev is not {previous}",
                _TAMPERED,
            )
        entries.append(entry)
        prev = entry.line_hash
    if not tail:
        return entries, None
    torn = TornTail(len(lines) + 1, len(content) - len(tail), tail)
    if not allow_torn_tail:
        raise VerificationError(
            "journal-torn-tail",
            f"{path} line {torn.line} is incomplete: no newline ends it",
            "A crash during a write leaves a torn last line; resuming offers to drop it",
        )
    return entries, torn


def _decode(path: Path, number: int, line: bytes) -> Entry:
    try:
        fields = strict_json.loads(line)
    except strict_json.Ambiguous as err:
        raise VerificationError(
            "journal-ambiguous", f"{path} line {number} {err.problem}", _TAMPERED
        ) from None
    except (ValueError, RecursionError):  # RecursionError: nested too deep to decode
        raise VerificationError(
            "journal-not-json", f"{path} line {number} is not JSON", _TAMPERED
        ) from None
    if not (
        isinstance(fields, dict)
        and fields.keys() == _KEYS
        and type(fields["seq"]) is int
        and isinstance(fields["time"], str)
        and isinstance(fields["type"], str)
        and isinstance(fields["data"], dict)
        and isinstance(fields["prev"], str)
    ):
        raise VerificationError(
            "journal-bad-entry",
            f"{path} line {number} is not a journal entry (seq, time, type, data, prev)",
            _TAMPERED,
        )
    line_hash = hashlib.sha256(line).hexdigest()
    return Entry(line_hash=line_hash, raw=line, **fields)


def _encode(fields: dict[str, Any]) -> bytes:
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return text.encode("ascii") + b"\n"


def _refuse_secrets(value: object, where: str) -> None:
    if isinstance(value, SecretPin):
        raise TypeError(f"journal {where} is a SecretPin; PINs are never journaled")
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_secrets(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_secrets(item, f"{where}[{index}]")
