"""Resume and abort against someone who can write the interrupted ceremony's directory.

Each test interrupts a real ceremony on a real SoftHSM token (SIGKILL after a journal line),
then does what a person with write access to the directory could do (edit and re-chain the
journal, swap the KEK file, copy the directory) and checks that resume and abort refuse with
one line and touch nothing: the token objects are listed after each.
"""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ceremony.cli import main
from ceremony.commands.tty import TtyOperator
from ceremony.engine.ceremony import Engine
from ceremony.engine.identity import key_id
from ceremony.hsm.templates import Policy
from ceremony.keyspec import KeySpec
from ceremony.plan.load import load_plan
from tests.conftest import logged_in, token_labels
from tests.engine.test_operators import Terminal
from tests.support import public_pem
from tests.support.journal_forgery import append, genesis_hash, lines_of, rewrite
from tests.support.rehearsal import SERVICES_EXPORTED, interrupted_small

EDITED = "The journal was damaged or edited after it was written; keep it as evidence"


@pytest.fixture
def interrupted(token_store, tmp_path):
    """A small_plan ceremony killed once the first key is exported; (plan, directory, env)."""
    return interrupted_small(token_store, tmp_path)


def victim(token_store) -> bytes:
    """A key that is not the ceremony's, on the same token: its CKA_ID."""
    service = logged_in(token_store)
    try:
        return service.generate(KeySpec("rsa", 2048), "victim-key", Policy.EXTRACTABLE).key_id
    finally:
        service.close()


def both_refuse(directory, env, capsys) -> str:
    """Run abort and resume; both must exit 4 with the same one line, which is returned."""
    assert main(["abort", str(directory), "--yes"], env=env) == 4
    line = capsys.readouterr().err
    assert main(["run", "--resume", str(directory), "--yes"], env=env) == 4
    assert capsys.readouterr().err == line
    return line


def test_a_forged_key_intent_cannot_point_abort_or_resume_at_another_key(
        interrupted, token_store, capsys):
    _, directory, env = interrupted
    foreign = victim(token_store)
    append(directory, "key-intent", {"name": "disks", "label": "cmk-disks",
                                     "key_id": foreign.hex(), "origin": "generate"})
    ours = key_id(genesis_hash(directory), "disks").hex()
    assert both_refuse(directory, env, capsys) == (
        f"ceremony: error: {directory / 'journal.jsonl'} line {SERVICES_EXPORTED + 1} "
        f"(key-intent) gives disks the CKA_ID {foreign.hex()}, but this ceremony's CKA_ID for "
        f"it is {ours}. Someone edited the journal to point at another object: nothing was "
        "touched; keep the directory as evidence\n")
    assert token_labels(token_store) == ["cmk-ceremony-signer", "cmk-services", "victim-key"]


# Every field of each kind, so the forged line is well-formed and only its CKA_ID is wrong.
WELL_FORMED = {
    "key-destroyed": {"objects": 2},
    "destroy-confirmed": {"scripted": False},
    "key-created": {"label": "cmk-services", "type": "RSA 2048", "fingerprint": "ab" * 32,
                    "kcv": None, "attributes": {}},
}


@pytest.mark.parametrize("kind", list(WELL_FORMED))
def test_no_forged_line_names_a_foreign_cka_id(interrupted, token_store, capsys, kind):
    _, directory, env = interrupted
    foreign = victim(token_store)
    append(directory, kind, {"name": "services", "key_id": foreign.hex(), **WELL_FORMED[kind]})
    assert "gives services the CKA_ID" in both_refuse(directory, env, capsys)
    assert token_labels(token_store) == ["cmk-ceremony-signer", "cmk-services", "victim-key"]


def test_a_forged_signer_intent_is_refused(interrupted, token_store, capsys):
    _, directory, env = interrupted
    append(directory, "signer-intent", {"key_id": "ab" * 16})
    assert "(signer-intent) gives the signer the CKA_ID abab" in both_refuse(
        directory, env, capsys)


def test_an_edited_sealed_line_breaks_its_seal(interrupted, token_store, capsys):
    """Re-chaining after an edit keeps the chain, but the seal of the edited line fails."""
    _, directory, env = interrupted
    lines = lines_of(directory)
    created = next(i for i, line in enumerate(lines) if line["type"] == "key-created")
    lines[created]["data"]["fingerprint"] = "00" * 32
    rewrite(directory, lines)
    seal = created + 2  # the seal line, counting from 1
    assert both_refuse(directory, env, capsys) == (
        f"ceremony: error: {directory / 'journal.jsonl'} line {seal} is not the ceremony "
        f"signer's seal of line {seal - 1}. The journal was edited after it was written; keep "
        "the directory as evidence\n")
    assert token_labels(token_store) == ["cmk-ceremony-signer", "cmk-services"]


@pytest.mark.parametrize(("data", "what"), [
    ({"name": "disks", "label": "cmk-disks", "origin": "generate"},
     "field key_id is missing or not a string"),
    ({"name": "disks", "label": "cmk-disks", "key_id": "zz" * 16, "origin": "generate"},
     "field key_id is not lowercase hex"),
    ({"name": "disks", "label": "cmk-disks", "key_id": "AB" * 16, "origin": "generate"},
     "field key_id is not lowercase hex"),
    ({"key_id": "00" * 16, "label": "cmk-disks", "origin": "generate"},
     "field name is missing or not a string"),
    ({"name": "disks", "label": 7, "key_id": "00" * 16, "origin": "generate"},
     "field label is missing or not a string"),
])
def test_a_journal_line_missing_a_field_or_with_a_non_hex_id(interrupted, capsys, data, what):
    _, directory, env = interrupted
    append(directory, "key-intent", data)
    assert both_refuse(directory, env, capsys) == (
        f"ceremony: error: {directory / 'journal.jsonl'} line {SERVICES_EXPORTED + 1} "
        f"(key-intent) {what}. {EDITED}\n")


def test_a_journal_line_with_a_huge_integer(interrupted, capsys):
    _, directory, env = interrupted
    with open(directory / "journal.jsonl", "ab") as journal:
        journal.write(b'{"data":{"n":1' + b"0" * 5000 + b'}}\n')
    assert both_refuse(directory, env, capsys) == (
        f"ceremony: error: {directory / 'journal.jsonl'} line {SERVICES_EXPORTED + 1} has an "
        f"integer of 5,001 digits, more than any field takes. {EDITED}\n")


def test_unsealed_lines_are_redone_not_believed(interrupted, token_store):
    """Forged sign-offs and a forged read-back after the last seal: people are asked again."""
    plan, directory, env = interrupted
    for name, role in (("Ada", "administrator"), ("Wes", "witness")):
        append(directory, "acknowledged", {"name": name, "role": role, "statement": "forged",
                                           "scripted": False})
    append(directory, "key-confirmed", {"name": "disks", "by": "Cid", "scripted": False})
    terminal = Terminal(["yes", "Ada", "Wes", "Yes"])
    operator = TtyOperator(terminal.ask, terminal.say, env)
    asyncio.run(Engine(load_plan(plan, resuming=True), operator, env=env,
                       directory=directory).resume())
    assert terminal.answers == []
    screen = "\n".join(terminal.screen)
    assert "Cid, read these words aloud" in screen
    assert "Ada (administrator), type your name to sign off" in screen
    record = json.loads((directory / "record.json").read_bytes())
    statements = {p["name"]: [a["statement"] for a in p["acknowledgements"]]
                  for p in record["participants"]}
    assert "forged" not in statements["Ada"] + statements["Wes"]
    assert record["journal"]["not_believed"] == [[SERVICES_EXPORTED + 1,
                                                  SERVICES_EXPORTED + 3]]
    assert main(["verify", str(directory), "--unpinned"]) == 0


def test_a_kek_swapped_during_the_interruption_stops_resume(interrupted, token_store, capsys):
    plan, directory, env = interrupted
    original = json.loads((directory / "journal.jsonl").read_bytes().split(b"\n")[0])
    old = original["data"]["keks"]["kv"]
    swapped = rsa.generate_private_key(65537, 3072)
    (plan.parent / "kek.pem").write_bytes(public_pem(swapped))
    new = load_plan(plan, resuming=True).kek("kv").kek.fingerprint
    # A forged, unsealed confirmation of the new file does not help.
    append(directory, "kek-confirmed", {"name": "kv", "kid": "https://forged", "by": "Ada",
                                        "fingerprint": new, "scripted": False})
    assert main(["run", "--resume", str(directory), "--yes"], env=env) == 4
    assert capsys.readouterr().err.splitlines(keepends=True)[-1] == (
        f"ceremony: error: KEK kv file {plan.parent / 'kek.pem'} has fingerprint {new}, but "
        f"journal line 1 holds {old} for it. The KEK file changed while the ceremony was "
        "interrupted and nothing was wrapped to it: restore the file the ceremony started with "
        "(compare with the paper log) and resume, or abort the ceremony\n")
    assert sorted(p.name for p in (directory / "keys").iterdir()) == [
        "services.az-import.txt", "services.byok", "services.pub.pem"]
    assert token_labels(token_store) == ["cmk-ceremony-signer", "cmk-services"]
    assert lines_of(directory)[-1]["data"]["code"] == "kek-changed"


def test_resume_and_abort_refuse_a_copy_of_the_directory(interrupted, token_store, tmp_path,
                                                         capsys):
    _, directory, env = interrupted
    copy = tmp_path / "copy" / "small"
    shutil.copytree(directory, copy)
    expected = (
        f"ceremony: error: {copy} is not the directory ceremony small ran in: its journal names "
        f"{directory.resolve()}. Resume or abort the ceremony in that directory (move it back if "
        "it moved); a copy must never finish or abort a ceremony a second time\n")
    for command in (["run", "--resume"], ["abort"]):
        assert main([*command, str(copy), "--yes"], env=env) == 2
        assert capsys.readouterr().err == expected
    assert token_labels(token_store) == ["cmk-ceremony-signer", "cmk-services"]
    assert (copy / "journal.jsonl").read_bytes() == (directory / "journal.jsonl").read_bytes()
    assert main(["run", "--resume", str(directory), "--yes"], env=env) == 0


def test_resume_with_a_moved_plan_works_on_the_directory_named(interrupted, tmp_path, capsys):
    plan, directory, env = interrupted
    moved = tmp_path / "moved"
    moved.mkdir()
    for name in ("plan.toml", "kek.pem"):
        shutil.copy(plan.parent / name, moved / name)
    assert main(["run", "--resume", str(directory), "--plan", str(moved / "plan.toml"),
                 "--yes"], env=env) == 0
    assert (directory / "record.json").is_file()
    assert not (moved / "out").exists()


def test_abort_names_the_label_and_fingerprint_of_what_it_destroys(interrupted, token_store):
    plan, directory, env = interrupted
    record_key = json.loads((directory / "journal.jsonl").read_bytes().splitlines()[
        12])["data"]  # the sealed key-created line of services
    assert record_key["name"] == "services"
    terminal = Terminal(["Yes"])
    operator = TtyOperator(terminal.ask, terminal.say, env)
    assert asyncio.run(Engine(load_plan(plan, resuming=True), operator, env=env,
                              directory=directory).abort()) == 1
    groups = " ".join(record_key["fingerprint"][i:i + 4].upper() for i in range(0, 64, 4))
    assert terminal.screen == [
        f"Destroy 1 key(s) this ceremony created on token test: services (label cmk-services, "
        f"RSA 2048, SHA-256 {groups}); and delete 1 BYOK package(s) from {directory / 'keys'} "
        "(services.byok) so they cannot be imported from there; copies made elsewhere stay "
        "importable. This cannot be undone. Type Yes to go on: "]
    assert token_labels(token_store) == ["cmk-ceremony-signer"]
    withdrawn = [line for line in lines_of(directory) if line["type"] == "package-withdrawn"]
    assert [(w["data"]["file"], len(w["data"]["sha256"])) for w in withdrawn] == [
        ("keys/services.byok", 64)]
