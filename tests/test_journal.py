"""The journal: exclusive creation, fsync'd appends, a hash chain that catches any edit."""

from __future__ import annotations

import hashlib
import json
import os
import re

import pytest

from ceremony.errors import BadInputError, ExitCode, VerificationError
from ceremony.journal import (
    ZERO_HASH,
    Journal,
    TornTail,
    read_entries,
    scan,
)
from ceremony.secret import SecretPin

TAMPERED = "The journal was damaged or edited after it was written; keep it as evidence"


@pytest.fixture
def path(tmp_path):
    return tmp_path / "journal.jsonl"


def write_three(path):
    with Journal.create(path) as journal:
        journal.append("ceremony-started", {"plan": "plan.toml"})
        journal.append("key-created", {"name": "dbx-managed-services", "id": "01"})
        journal.append("key-wrapped", {"name": "dbx-managed-services"})
    return path.read_bytes().splitlines(keepends=True)


def failure(path, **kwargs) -> str:
    with pytest.raises(VerificationError) as caught:
        scan(path, **kwargs)
    assert caught.value.exit_code == ExitCode.VERIFY
    return caught.value.code + " | " + caught.value.line()


def test_lines_are_canonical_and_chained(path):
    lines = write_three(path)
    first = json.loads(lines[0])
    assert lines[0] == (json.dumps(first, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    assert set(first) == {"seq", "time", "type", "data", "prev"}
    assert first["prev"] == ZERO_HASH
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["time"])
    for number, line in enumerate(lines[1:], start=1):
        assert json.loads(line)["prev"] == hashlib.sha256(lines[number - 1]).hexdigest()
        assert json.loads(line)["seq"] == number + 1


def test_append_returns_the_entry_and_head_follows(path):
    journal = Journal.create(path)
    assert journal.head == ZERO_HASH and journal.entries == 0
    entry = journal.append("key-created", {"name": "k", "ids": ("01", "02")})
    line = path.read_bytes()
    assert entry.seq == 1 and entry.type == "key-created" and entry.prev == ZERO_HASH
    assert entry.data == {"name": "k", "ids": ["01", "02"]}  # as read back, not as passed
    assert entry.line_hash == journal.head == hashlib.sha256(line).hexdigest()
    assert read_entries(path) == [entry]
    journal.close()


def test_append_is_on_disk_before_it_returns(path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.fstat(fd).st_size)
        real_fsync(fd)

    journal = Journal.create(path)
    monkeypatch.setattr(os, "fsync", fsync)
    entry = journal.append("key-created", {"name": "k"})
    size = path.stat().st_size
    assert synced == [size]  # fsync ran on the journal once the whole line was written
    with open(path, "rb") as second_handle:
        assert second_handle.read() == path.read_bytes()
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.line_hash
    journal.close()


def test_create_refuses_an_existing_file(path):
    path.write_bytes(b"")
    with pytest.raises(BadInputError) as caught:
        Journal.create(path)
    assert caught.value.line() == (
        f"ceremony: error: {path} already exists. "
        "Choose a new output directory; the tool never overwrites a file"
    )


def test_a_secret_pin_is_never_journaled(path):
    journal = Journal.create(path)
    with pytest.raises(TypeError) as caught:
        journal.append("login", {"roles": [{"who": "officer", "pin": SecretPin("4711")}]})
    assert str(caught.value) == (
        "journal data['roles'][0]['pin'] is a SecretPin; PINs are never journaled"
    )
    assert "4711" not in str(caught.value)
    assert path.read_bytes() == b""
    assert journal.append("login", {"who": "officer"}).seq == 1  # the journal is still usable
    journal.close()


def test_append_refuses_a_closed_journal_and_bad_arguments(path):
    journal = Journal.create(path)
    with pytest.raises(TypeError, match="event type str and a data dict"):
        journal.append("key-created", ["not", "a", "dict"])
    journal.close()
    with pytest.raises(ValueError, match="is closed"):
        journal.append("key-created", {})


def test_verify_and_read_a_good_journal(path):
    lines = write_three(path)
    entries, torn = scan(path)
    assert len(entries) == 3
    assert entries[-1].line_hash == hashlib.sha256(lines[-1]).hexdigest()
    assert entries[-1].raw == lines[-1]
    assert torn is None
    assert [entry.type for entry in read_entries(path)] == [
        "ceremony-started",
        "key-created",
        "key-wrapped",
    ]


def test_an_empty_journal_is_valid(path):
    Journal.create(path).close()
    assert scan(path) == ([], None)
    with Journal.open_existing(path) as journal:
        assert journal.head == ZERO_HASH


def test_an_edited_line_breaks_the_chain(path):
    lines = write_three(path)
    lines[1] = lines[1].replace(b'"id":"01"', b'"id":"02"')
    path.write_bytes(b"".join(lines))
    assert failure(path) == (
        f"journal-broken-chain | ceremony: error: {path} line 3 breaks the hash chain: prev is "
        f"not the SHA-256 of line 2. {TAMPERED}"
    )


def test_an_edited_first_prev_is_caught(path):
    lines = write_three(path)
    lines[0] = lines[0].replace(ZERO_HASH.encode(), b"1" * 64)
    path.write_bytes(b"".join(lines))
    assert failure(path) == (
        f"journal-broken-chain | ceremony: error: {path} line 1 breaks the hash chain: prev is "
        f"not 64 zeros. {TAMPERED}"
    )


def test_a_deleted_line_is_caught(path):
    lines = write_three(path)
    path.write_bytes(lines[0] + lines[2])
    assert failure(path) == (
        f"journal-bad-seq | ceremony: error: {path} line 2 has seq 3, expected 2. {TAMPERED}"
    )


def test_a_deleted_line_with_renumbered_seqs_still_breaks_the_chain(path):
    lines = write_three(path)
    path.write_bytes(lines[0] + lines[2].replace(b'"seq":3', b'"seq":2'))
    assert failure(path) == (
        f"journal-broken-chain | ceremony: error: {path} line 2 breaks the hash chain: prev is "
        f"not the SHA-256 of line 1. {TAMPERED}"
    )


def test_a_swapped_pair_is_caught(path):
    lines = write_three(path)
    path.write_bytes(lines[0] + lines[2] + lines[1])
    assert failure(path) == (
        f"journal-bad-seq | ceremony: error: {path} line 2 has seq 3, expected 2. {TAMPERED}"
    )


@pytest.mark.parametrize(
    ("line", "code", "problem"),
    [
        (b"not json\n", "journal-not-json", "is not JSON"),
        (b"\n", "journal-not-json", "is not JSON"),
        (b"\xff\xfe\n", "journal-not-json", "is not JSON"),
        (b"[" * 200000 + b"\n", "journal-not-json", "is not JSON"),  # too deep: RecursionError
        (
            b'{"seq":2,"type":"x"}\n',
            "journal-bad-entry",
            "is not a journal entry (seq, time, type, data, prev)",
        ),
        (
            b"[1,2]\n",
            "journal-bad-entry",
            "is not a journal entry (seq, time, type, data, prev)",
        ),
    ],
)
def test_a_line_that_is_not_an_entry_is_caught(path, line, code, problem):
    lines = write_three(path)
    path.write_bytes(lines[0] + line + lines[2])
    assert failure(path) == f"{code} | ceremony: error: {path} line 2 {problem}. {TAMPERED}"


def test_a_torn_tail_is_refused_by_verify_and_read(path):
    lines = write_three(path)
    torn = lines[2][:40]
    path.write_bytes(lines[0] + lines[1] + torn)
    expected = (
        f"journal-torn-tail | ceremony: error: {path} line 3 is incomplete: no newline ends it. "
        "A crash during a write leaves a torn last line; resuming offers to drop it"
    )
    assert failure(path) == expected
    with pytest.raises(VerificationError) as caught:
        read_entries(path)
    assert caught.value.code == "journal-torn-tail"
    with pytest.raises(VerificationError) as caught:
        Journal.open_existing(path)
    assert caught.value.code == "journal-torn-tail"
    assert path.read_bytes() == lines[0] + lines[1] + torn  # nothing dropped unasked


def test_a_tampered_line_before_a_torn_tail_is_reported_first(path):
    lines = write_three(path)
    path.write_bytes(lines[1] + lines[2][:40])
    assert failure(path, allow_torn_tail=True).startswith("journal-bad-seq")


def test_resume_drops_a_torn_tail_only_when_asked(path):
    lines = write_three(path)
    torn = lines[2][:40]
    path.write_bytes(lines[0] + lines[1] + torn)
    entries, offered = scan(path, allow_torn_tail=True)
    assert len(entries) == 2
    assert offered == TornTail(line=3, offset=len(lines[0] + lines[1]), data=torn)
    with Journal.open_existing(path, drop_torn_tail=True) as journal:
        assert journal.dropped == offered
        entry = journal.append("torn-tail-dropped", {"line": 3})
    assert entry.seq == 3 and entry.prev == hashlib.sha256(lines[1]).hexdigest()
    assert path.read_bytes().startswith(lines[0] + lines[1])
    assert len(read_entries(path)) == 3


def test_resume_continues_the_chain(path):
    lines = write_three(path)
    with Journal.open_existing(path) as journal:
        assert journal.entries == 3
        assert journal.head == hashlib.sha256(lines[-1]).hexdigest()
        assert journal.dropped is None
        assert journal.append("witness-signed", {"who": "witness-1"}).seq == 4
    assert [entry.seq for entry in read_entries(path)] == [1, 2, 3, 4]


def test_resume_refuses_a_broken_chain(path):
    lines = write_three(path)
    path.write_bytes(lines[0] + lines[2])
    with pytest.raises(VerificationError) as caught:
        Journal.open_existing(path)
    assert caught.value.code == "journal-bad-seq"


def test_a_missing_journal_is_bad_input(path):
    with pytest.raises(BadInputError) as caught:
        scan(path)
    assert caught.value.line() == (
        f"ceremony: error: {path} does not exist. Give the journal.jsonl of the ceremony directory"
    )
    assert caught.value.code == "journal-missing"


def test_a_journal_that_is_a_directory_is_bad_input(path):
    path.mkdir()
    with pytest.raises(BadInputError) as caught:
        scan(path)
    assert caught.value.code == "file-unreadable"
    assert caught.value.line() == (
        f"ceremony: error: {path} cannot be read (Is a directory). Check the path"
    )
