"""Journal seals: the ceremony signer's signature over each journal line, made inside the HSM.

The hash chain shows that no line changed relative to the others; it cannot show who wrote
them, since anyone who can write the directory can append lines and chain them. So once the
ceremony signer is ready, the engine follows every journal line with a `journal-sealed` line:
`{"line": N, "signature": "<base64 DER ECDSA>"}`, a P-384 / SHA-384 signature over line N's
bytes (newline included), made by the signer inside the HSM. Line N's bytes carry the hash of
line N-1, so a seal vouches for every line before it too. Resume and abort act on what sealed
lines say was done and redo what comes after the last seal; `ceremony verify` checks every
seal with signer.pub.pem. By hand (N = the sealed line, N+1 = its seal):

    sed -n Np journal.jsonl > line
    sed -n "$((N+1))p" journal.jsonl | jq -r .data.signature | base64 -d > line.sig
    openssl dgst -sha384 -verify signer.pub.pem -signature line.sig line
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ceremony.engine.events import EventKind, JournalSealed
from ceremony.errors import VerificationError
from ceremony.journal import Entry

_EDITED = "The journal was edited after it was written; keep the directory as evidence"


def not_believed(entries: list[Entry]) -> list[tuple[int, int]]:
    """The line ranges resume did not believe: those after the last seal before each `resumed`
    line (its `sealed_lines`). Their steps were done again; they stay in the journal as
    evidence, and nothing is taken from them (the record's acknowledgements, for one)."""
    ranges = []
    for entry in entries:
        sealed = entry.data.get("sealed_lines")
        if entry.type == EventKind.RESUMED and type(sealed) is int and sealed + 1 < entry.seq:
            ranges.append((sealed + 1, entry.seq - 1))
    return ranges


def believed(entries: list[Entry]) -> list[Entry]:
    """`entries` without the lines resume did not believe (not_believed)."""
    ranges = not_believed(entries)
    return [e for e in entries if not any(first <= e.seq <= last for first, last in ranges)]


def seal_data(entry: Entry, signature: bytes) -> JournalSealed:
    """The payload of the seal line that follows `entry`."""
    return JournalSealed(entry.seq, base64.b64encode(signature).decode("ascii"))


def check_seals(
    entries: list[Entry], signer: ec.EllipticCurvePublicKey | None, source: str, holder: str,
) -> int:
    """Check every seal in `entries`; return the line number of the last seal (0: none), so
    lines 1 to that number are vouched for.

    `signer` is the ceremony signer's public key, or None when `holder` (the token, or
    signer.pub.pem) has none; `source` names the journal in messages.
    """
    covered = 0
    for index, entry in enumerate(entries):
        if entry.type != EventKind.SEALED:
            continue
        if signer is None:
            raise VerificationError(
                "journal-seal-unchecked",
                f"{source} line {entry.seq} is a seal, but {holder} holds no ceremony signer "
                "to check it",
                "Use the token the ceremony ran on; if it is, keep the directory as evidence",
            )
        signature = _signature(entry, source)
        try:
            signer.verify(signature, entries[index - 1].raw, ec.ECDSA(hashes.SHA384()))
        except InvalidSignature:
            raise VerificationError(
                "journal-seal-invalid",
                f"{source} line {entry.seq} is not the ceremony signer's seal of line "
                f"{entry.seq - 1}", _EDITED,
            ) from None
        covered = entry.seq
    return covered


def _signature(entry: Entry, source: str) -> bytes:
    line, text = entry.data.get("line"), entry.data.get("signature")
    if type(line) is not int or line != entry.seq - 1 or line < 1 or type(text) is not str:
        raise VerificationError(
            "journal-seal-invalid",
            f"{source} line {entry.seq} is a seal that does not name line {entry.seq - 1} "
            "with a signature", _EDITED,
        )
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError(
            "journal-seal-invalid",
            f"{source} line {entry.seq} is a seal whose signature is not base64", _EDITED,
        ) from None
