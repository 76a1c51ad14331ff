"""A whole headless ceremony on SoftHSM, from plan to verified record, and what it leaves."""

import json
import shutil
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from ceremony.azure.byok import parse_byok
from ceremony.cli import main
from ceremony.digests import sha256_hex
from ceremony.errors import VerificationError
from ceremony.keyspec import KeySpec
from ceremony.record.verify import verify_ceremony
from tests.conftest import PIN_ENV, SO_PIN, TOKEN, USER_PIN, logged_in, token_labels
from tests.support.rehearsal import example_plan, make_vault, small_plan
from tests.support.terminal import run_on_terminal


@pytest.fixture
def vault(token_store):
    vault, kek = make_vault(token_store)
    yield vault, kek
    vault.service.close()


def test_full_ceremony_from_the_example_plan(vault, token_store, tmp_path, capsys):
    rehearsal, kek = vault
    plan = example_plan(tmp_path / "plan", kek)
    env = {**token_store.env, **PIN_ENV}
    assert main(["run", str(plan), "--yes", "--json"], env=env) == 0
    out, err = capsys.readouterr()
    events = [json.loads(line) for line in out.splitlines()]
    kinds = [e["type"] for e in events if e["seq"]]  # journal lines; the rest are transient
    assert kinds[0] == "ceremony-started" and kinds[-1] == "ceremony-completed"
    assert events[0]["type"] == "steps-planned"
    assert [e["data"]["step"] for e in events if e["type"] == "step-started"] == [
        step["id"] for step in events[0]["data"]["steps"]]
    assert kinds.count("key-exported") == 3 and "warning" in kinds
    directory = tmp_path / "plan" / "ceremonies" / "2026-q4-databricks-cmk"
    names = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*")
                   if p.is_file())
    assert names == sorted([
        "plan.toml", "journal.jsonl", "record.json", "record.json.sig", "signer.pub.pem",
        "runbook.md", "report.md",
        *(f"keys/{k}.{ext}" for k in ("managed-services", "managed-disks", "dbfs-root")
          for ext in ("byok", "pub.pem", "az-import.txt")),
    ])
    record = json.loads((directory / "record.json").read_bytes())
    assert record["operator"] == {"kind": "scripted", "scripted": True}
    assert [k["name"] for k in record["keys"]] == ["managed-services", "managed-disks",
                                                    "dbfs-root"]
    assert record["signer"]["created_in_this_ceremony"] is True
    assert record["self_test"]["zero_padding"] == 5
    # Anyone can check it: the openssl one-liner and ceremony verify.
    check = subprocess.run(
        ["openssl", "dgst", "-sha384", "-verify", "signer.pub.pem", "-signature",
         "record.json.sig", "record.json"], cwd=directory, capture_output=True, text=True)
    assert check.stdout == "Verified OK\n"
    fingerprint = record["signer"]["fingerprint_sha256"]
    assert main(["verify", str(directory), "--signer", fingerprint]) == 0
    # The vault token imports every package and finds the ceremony's keys.
    for key in record["keys"]:
        package = parse_byok((directory / key["files"]["byok"]).read_bytes(), "x")
        public = load_pem_public_key((directory / key["files"]["public_key"]).read_bytes())
        spki = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo).hex()
        spec = KeySpec(key["type"], key["size"], key["curve"])
        assert rehearsal.import_byok(kek, package.ciphertext, spec, spki).evidence
    # PINs appear nowhere.
    for path in directory.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert USER_PIN.encode() not in data and SO_PIN.encode() not in data, path
    assert USER_PIN not in out + err and SO_PIN not in out + err


def test_second_run_of_the_same_plan_is_refused(vault, token_store, tmp_path, capsys):
    _, kek = vault
    plan = small_plan(tmp_path / "plan", kek)
    env = {**token_store.env, **PIN_ENV}
    assert main(["run", str(plan), "--yes"], env=env) == 0
    out, err = capsys.readouterr()
    directory = tmp_path / "plan" / "out" / "small"
    assert out == f"{directory}\n"
    lines = (directory / "journal.jsonl").read_bytes().splitlines(keepends=True)
    record = json.loads((directory / "record.json").read_bytes())
    record_sha = sha256_hex((directory / "record.json").read_bytes())
    signer = record["signer"]["fingerprint_sha256"]
    assert err.splitlines()[-1] == (
        f"for the paper log: record.json SHA-256 {record_sha}; signer {signer}; journal.jsonl "
        f"ends at line {len(lines)} with SHA-256 {sha256_hex(lines[-1])}")
    # What the paper log holds checks the unsigned tail of the journal too.
    pinned = ["verify", str(directory), "--signer", signer, "--journal-end",
              sha256_hex(lines[-1])]
    assert main(pinned) == 0
    (directory / "journal.jsonl").write_bytes(b"".join(lines[:-1]))  # cut the last line
    capsys.readouterr()
    assert main(pinned) == 4
    assert capsys.readouterr().err == (
        f"ceremony: error: {directory / 'journal.jsonl'} ends at line {len(lines) - 1} with "
        f"SHA-256 {sha256_hex(lines[-2])}, not {sha256_hex(lines[-1])} as given with "
        "--journal-end. Lines after the record were changed, added or cut; keep the directory "
        "as evidence\n")
    assert main(["run", str(plan), "--yes"], env=env) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ceremony: error: {plan}: output.directory: ")
    assert "already exists: ceremony small was run there" in err


def test_destroy_after_export_leaves_only_the_kept_key(vault, token_store, tmp_path, capsys):
    _, kek = vault
    plan = small_plan(tmp_path / "plan", kek)
    assert main(["run", str(plan), "--yes"], env={**token_store.env, **PIN_ENV}) == 0
    record = json.loads((tmp_path / "plan" / "out" / "small" / "record.json").read_bytes())
    assert {k["name"]: k["destroyed"] for k in record["keys"]} == {
        "services": False, "disks": True}
    assert token_labels(token_store) == ["cmk-ceremony-signer", "cmk-services"]


def test_a_second_ceremony_on_the_same_token_is_refused(vault, token_store, tmp_path, capsys):
    from tests.hsm.test_lock import HOLDER

    _, kek = vault
    plan = small_plan(tmp_path / "plan", kek)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], env=token_store.env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == "locked\n"
        assert main(["run", str(plan), "--yes"], env={**token_store.env, **PIN_ENV}) == 3
        assert capsys.readouterr().err == (
            f"ceremony: error: token {TOKEN} is in use by process {holder.pid}. Wait for that "
            "ceremony to finish, or stop it; two runs never share a token\n"
        )
        assert not (tmp_path / "plan" / "out").exists()  # nothing half-written
    finally:
        holder.communicate("\n", timeout=30)


def test_split_user_pin_is_entered_in_parts(vault, token_store, tmp_path):
    """Each custodian types their part at the terminal, in plan order, with echo off; no part
    reaches any file (ceremony directory, plan, token store)."""
    _, kek = vault
    parts = (b"cid-part-7", b"cora-part-3")  # distinct enough to find in any file
    service = logged_in(token_store)
    service.in_session(lambda session: session.set_pin(USER_PIN, b"".join(parts).decode()))
    service.close()
    plan = small_plan(tmp_path / "plan", kek)
    plan.write_text(plan.read_text().replace(
        'user_pin = "env:CEREMONY_USER_PIN"',
        'user_pin = { parts = [{ custodian = "Cid", source = "prompt" },\n'
        '                      { custodian = "Cora", source = "prompt" }] }'))
    code, shown = run_on_terminal(
        ["run", str(plan)], {**token_store.env, "CEREMONY_SO_PIN": SO_PIN},
        [(b"compare this with the KEK fingerprint", b"yes"),
         (b"PIN for Cid (user PIN part 1 of 2): ", parts[0]),
         (b"PIN for Cora (user PIN part 2 of 2): ", parts[1]),
         (b"Type yes once", b"yes"), (b"Type yes once", b"yes"),
         (b"Ada (administrator), type your name", b"Ada"),
         (b"Wes (witness), type your name", b"Wes"),
         (b"Type Yes to go on", b"Yes")],
        end=b"ceremony small completed")
    assert code == 0
    assert shown.count(b"PIN for ") == 2  # the two parts, asked once each, Cid first
    record = json.loads((tmp_path / "plan" / "out" / "small" / "record.json").read_bytes())
    custodians = [p["name"] for p in record["participants"] if p["role"] == "custodian"]
    assert custodians == ["Cid", "Cora"]
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(files) > 20  # the ceremony's files, the plan, the token store
    for part in parts:
        assert part not in shown
        assert [f for f in files if part in f.read_bytes()] == []


def test_wrong_user_pin_fails_with_exit_3_and_no_pin_in_the_journal(
    vault, token_store, tmp_path, capsys,
):
    _, kek = vault
    plan = small_plan(tmp_path / "plan", kek)
    env = {**token_store.env, **PIN_ENV, "CEREMONY_USER_PIN": "864209"}
    assert main(["run", str(plan), "--yes"], env=env) == 3
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"ceremony: error: wrong user PIN for token {TOKEN} (token reports: user PIN count "
        "low). Check the PIN source; every wrong try counts against the token's retry limit"
    )
    journal = (tmp_path / "plan" / "out" / "small" / "journal.jsonl").read_text()
    assert "864209" not in journal and SO_PIN not in journal
    assert json.loads(journal.splitlines()[-1])["data"]["code"] == "pin-incorrect"
    # The failed run is resumable once the right PIN is at hand.
    env["CEREMONY_USER_PIN"] = USER_PIN
    assert main(["run", "--resume", str(tmp_path / "plan" / "out" / "small"), "--yes"],
                env=env) == 0


def _tampered(directory, case):
    """Apply one kind of tampering to a copy of a real ceremony directory."""
    def edit(name, change):
        path = directory / name
        path.write_bytes(change(path.read_bytes()))

    if case == "record":
        edit("record.json", lambda d: d.replace(b'"small"', b'"smalL"'))
    elif case == "signature":
        edit("record.json.sig", lambda d: d[:-1] + bytes([d[-1] ^ 1]))
    elif case == "journal line":
        edit("journal.jsonl", lambda d: d.replace(b"cmk-services", b"cmk-servicez", 1))
    elif case == "byok":
        edit("keys/services.byok", lambda d: d.replace(b'"ciphertext": "', b'"ciphertext": "A'))
    elif case == "public key":
        edit("keys/services.pub.pem", lambda d: d.replace(b"\n", b"\n\n", 1))
    elif case == "missing file":
        (directory / "runbook.md").unlink()


TAMPERING = {
    "record": "record-signature-invalid",
    "signature": "record-signature-invalid",
    "journal line": "journal-broken-chain",
    "byok": "output-altered",
    "public key": "output-altered",
    "missing file": "output-missing",
}


def test_verify_detects_tampering_with_a_real_ceremony(vault, token_store, tmp_path, capsys):
    _, kek = vault
    plan = small_plan(tmp_path / "plan", kek)
    assert main(["run", str(plan), "--yes"], env={**token_store.env, **PIN_ENV}) == 0
    original = tmp_path / "plan" / "out" / "small"
    for case, code in TAMPERING.items():
        copy = tmp_path / case.replace(" ", "-")
        shutil.copytree(original, copy)
        _tampered(copy, case)
        with pytest.raises(VerificationError) as caught:
            verify_ceremony(copy)
        assert caught.value.code == code, case
        capsys.readouterr()
        assert main(["verify", str(copy), "--unpinned"]) == 4
        assert capsys.readouterr().err == caught.value.line() + "\n"


def test_a_second_ceremony_chains_to_the_first(vault, token_store, tmp_path, capsys):
    _, kek = vault
    env = {**token_store.env, **PIN_ENV}
    first = small_plan(tmp_path / "first", kek)
    assert main(["run", str(first), "--yes"], env=env) == 0
    previous = tmp_path / "first" / "out" / "small" / "record.json"
    second = small_plan(tmp_path / "second", kek)
    second.write_text(second.read_text()
                      .replace('id = "small"', f'id = "small-2"\nprevious_record = "{previous}"')
                      .replace('"cmk-services"', '"cmk-services-2"')
                      .replace('"cmk-disks"', '"cmk-disks-2"'))
    assert main(["run", str(second), "--yes"], env=env) == 0
    directory = tmp_path / "second" / "out" / "small-2"
    record = json.loads((directory / "record.json").read_bytes())
    assert record["previous_record_sha256"] == sha256_hex(previous.read_bytes())
    assert record["signer"]["created_in_this_ceremony"] is False  # the first one made it
    first_record = json.loads(previous.read_bytes())
    assert record["signer"]["fingerprint_sha256"] == first_record["signer"]["fingerprint_sha256"]
    capsys.readouterr()
    assert main(["verify", str(directory), "--signer", record["signer"]["fingerprint_sha256"],
                 "--previous", str(previous)]) == 0
    other = tmp_path / "first" / "out" / "small" / "report.md"
    assert main(["verify", str(directory), "--unpinned", "--previous", str(other)]) == 4
