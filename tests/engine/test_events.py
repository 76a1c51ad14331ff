"""Typed events: one payload class per kind, and every payload round-trips through the journal."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from ceremony.engine import events as ev
from ceremony.engine.events import PAYLOADS, EventKind, payload_of
from ceremony.errors import VerificationError
from ceremony.journal import Journal, scan

SAMPLES = {
    str: "a value", str | None: None, bool: True, int: 7,
    dict[str, str]: {"kv": "ab" * 32}, dict[str, typing.Any]: {"SENSITIVE": True, "TRUSTED": None},
    list[str]: ["one", "two"], list[dict[str, str]]: [{"id": "sign", "title": "signing"}],
}


def sample(cls: type[ev.Payload]) -> ev.Payload:
    hints = typing.get_type_hints(cls)
    values = {f.name: SAMPLES[hints[f.name]] for f in dataclasses.fields(cls)}
    if "key_id" in values:
        values["key_id"] = "0f" * 16
    return cls(**values)


def test_every_kind_has_its_payload_class():
    assert set(PAYLOADS) == set(EventKind)
    assert all(cls.kind is kind for kind, cls in PAYLOADS.items())


@pytest.mark.parametrize("kind", list(EventKind), ids=str)
def test_a_payload_round_trips_through_the_journal(tmp_path, kind):
    payload = sample(PAYLOADS[kind])
    journal = Journal.create(tmp_path / "journal.jsonl")
    journal.append(str(kind), {"message": "what a person read", **payload.to_data()})
    journal.close()
    (entry,), _ = scan(tmp_path / "journal.jsonl")
    assert payload_of(entry, "journal.jsonl") == payload
    event = ev.Event(payload, "what a person read", entry.seq)
    assert event.to_json() == {"seq": 1, "type": str(kind), "message": "what a person read",
                               "data": payload.to_data()}


@pytest.mark.parametrize(("data", "problem"), [
    ({"name": "k", "by": "Cid"}, "field scripted is missing or not true or false"),
    ({"name": "k", "by": 3, "scripted": False}, "field by is missing or not a string"),
    ({"name": "k", "by": "Cid", "scripted": "yes"},
     "field scripted is missing or not true or false"),
])
def test_a_field_of_the_wrong_shape_is_named(tmp_path, data, problem):
    journal = Journal.create(tmp_path / "journal.jsonl")
    journal.append("key-confirmed", data)
    journal.close()
    (entry,), _ = scan(tmp_path / "journal.jsonl")
    with pytest.raises(VerificationError) as caught:
        payload_of(entry, "journal.jsonl")
    assert caught.value.message == f"journal.jsonl line 1 (key-confirmed) {problem}"
    assert caught.value.exit_code == 4


def test_a_type_no_ceremony_writes_has_no_payload(tmp_path):
    journal = Journal.create(tmp_path / "journal.jsonl")
    journal.append("something-else", {"x": 1})
    journal.close()
    (entry,), _ = scan(tmp_path / "journal.jsonl")
    assert payload_of(entry, "journal.jsonl") is None
