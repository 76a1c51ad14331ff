"""What someone who can write a ceremony directory can do to its journal: edit, append, re-chain.

The hash chain is no protection against them (anyone can compute SHA-256), so these helpers
write journals whose chain is intact; what must stop them is the seals and the derived CKA_IDs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ceremony.journal import ZERO_HASH


def _encode(fields: dict) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def lines_of(directory: Path) -> list[dict]:
    return [json.loads(line) for line in
            (directory / "journal.jsonl").read_bytes().splitlines()]


def rewrite(directory: Path, lines: list[dict]) -> None:
    """Write `lines` as the journal, each renumbered and chained to the one before."""
    prev, out = ZERO_HASH, b""
    for seq, fields in enumerate(lines, start=1):
        line = _encode({**fields, "seq": seq, "prev": prev})
        out += line
        prev = hashlib.sha256(line).hexdigest()
    (directory / "journal.jsonl").write_bytes(out)


def append(directory: Path, kind: str, data: dict) -> None:
    """Append one re-chained line of `kind` carrying `data` (and a message, as the tool does)."""
    lines = lines_of(directory)
    lines.append({"type": kind, "time": lines[-1]["time"],
                  "data": {"message": f"forged {kind}", **data}})
    rewrite(directory, lines)


def genesis_hash(directory: Path) -> str:
    """The SHA-256 of the journal's first line, which the ceremony's CKA_IDs derive from."""
    first = (directory / "journal.jsonl").read_bytes().split(b"\n", 1)[0] + b"\n"
    return hashlib.sha256(first).hexdigest()
