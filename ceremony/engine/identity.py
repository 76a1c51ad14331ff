"""Which token objects are a ceremony's own: CKA_IDs derived from its journal's first line.

The journal is evidence, not authority: anyone who can write an interrupted ceremony's directory
can append re-chained lines naming any CKA_ID. So resume and abort never take a CKA_ID from the
journal; they derive it: a key's CKA_ID is the first 16 bytes of SHA-256 over a fixed tag, the
SHA-256 of the journal's first line (unique to the ceremony: its id, directory, plan digest and
start time) and the key's name. To make the tool touch an object another ceremony created, an
edited journal would need a first line whose derived ids equal that object's CKA_ID: a 128-bit
second preimage. A journaled CKA_ID that differs from the derived one is proof of tampering.
"""

from __future__ import annotations

import hashlib

KEY_ID_BYTES = 16


def _derive(tag: bytes, genesis: str, name: str = "") -> bytes:
    digest = hashlib.sha256(tag + b"\0" + bytes.fromhex(genesis) + b"\0" + name.encode())
    return digest.digest()[:KEY_ID_BYTES]


def key_id(genesis: str, name: str) -> bytes:
    """The CKA_ID of the ceremony's key `name`; `genesis` is the first line's SHA-256 hex."""
    return _derive(b"cmk-ceremony key-id", genesis, name)


def signer_id(genesis: str) -> bytes:
    """The CKA_ID the ceremony gives the record signer when it has to create one."""
    return _derive(b"cmk-ceremony signer-id", genesis)
