"""`ceremony verify DIR`: a valid directory passes, and every kind of damage is named, exit 4."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ceremony.azure.byok import build_byok, parse_byok
from ceremony.azure.kid import parse_kid
from ceremony.cli import main
from ceremony.digests import public_der, public_key_fingerprint, sha256_hex
from ceremony.readback import hex_groups
from ceremony.record.canonical import canonical
from ceremony.record.verify import VerifiedKey, verify_ceremony
from tests.record.test_record import SECP112R1_PEM
from tests.support.ceremony_dir import (
    CEREMONY_ID,
    GENERATOR,
    JOURNAL_LINES,
    MHSM_KID,
    RECORD_COVERS,
    VAULT_KID,
    WARNING,
    SyntheticCeremony,
    build_ceremony,
    pem_of,
    sign,
)
from tests.support.unwrap import OPENSSL

EVIDENCE = "keep the directory as evidence"
JOURNAL_TAMPERED = "The journal was damaged or edited after it was written; keep it as evidence"
NOT_FORMAT = "The record does not follow cmk-ceremony-record/1 (docs/record-format.md)"
WARNING_LINE = f"ceremony: warning: record self-test: {WARNING}\n"
REGULAR_ONLY = f"A ceremony writes only regular files; {EVIDENCE}"
END_UNCHECKED_LINE = (
    f"ceremony: warning: journal end not checked: lines after the {RECORD_COVERS} the record "
    "covers could have been cut unseen; give --journal-end with the SHA-256 from the paper log\n"
)
UNPINNED_LINE = (
    "ceremony: warning: signer not pinned: the directory is whole and signed by the key in "
    "signer.pub.pem, but nothing here shows that key is the ceremony signer; compare its "
    "fingerprint with the paper log\n"
)


@pytest.fixture
def ceremony(tmp_path):
    return build_ceremony(tmp_path / "ceremonies")


def fails(ceremony, capsys, *flags, code=4) -> str:
    """Run `ceremony verify` on the directory; assert the exit code; return the error line."""
    pin = () if "--signer" in flags else ("--unpinned",)
    assert main(["verify", str(ceremony.directory), *pin, *flags]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


def error(message: str, hint: str) -> str:
    return f"ceremony: error: {message}. {hint}\n"


def journal_lines(ceremony) -> list[bytes]:
    return (ceremony.directory / "journal.jsonl").read_bytes().splitlines(keepends=True)


def write_journal(ceremony, lines: list[bytes]) -> None:
    (ceremony.directory / "journal.jsonl").write_bytes(b"".join(lines))


def edit_line(line: bytes, **data) -> bytes:
    fields = json.loads(line)
    fields["data"].update(data)
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode() + b"\n"


# -- a valid directory ----------------------------------------------------------------------------


def test_a_valid_directory_verifies(ceremony, capsys):
    assert main(["verify", str(ceremony.directory), "--unpinned"]) == 0
    captured = capsys.readouterr()
    fingerprint = ceremony.record()["signer"]["fingerprint_sha256"]
    rsa_fingerprint = ceremony.record()["keys"][0]["fingerprint_sha256"]
    assert captured.out == "\n".join([
        f"Verified:   ceremony {CEREMONY_ID} in {ceremony.directory}",
        f"Signer:     {hex_groups(bytes.fromhex(fingerprint))} (NOT pinned: compare with the "
        "paper log)",
        "Record:     RFC 8785 canonical, ECDSA P-384 SHA-384 signature valid",
        f"Journal:    {JOURNAL_LINES} entries chained, the first {JOURNAL_LINES} sealed by the "
        f"signer; the record covers the first {RECORD_COVERS}",
        "            last line NOT checked (give --journal-end from the paper log)",
        "Files:      8 match their SHA-256 in the record; none unlisted",
        f"Key:        managed-services for {VAULT_KID}, public key {rsa_fingerprint}",
        f"Key:        search-aes for {MHSM_KID}",
        "Previous:   none (the record starts a chain)",
    ]) + "\n"
    assert captured.err == WARNING_LINE + END_UNCHECKED_LINE + UNPINNED_LINE


def test_the_report_and_its_json(ceremony, capsys):
    report = verify_ceremony(ceremony.directory)
    record = ceremony.record()
    assert report.ceremony_id == CEREMONY_ID
    assert report.signer_fingerprint == record["signer"]["fingerprint_sha256"]
    assert (report.journal_entries, report.journal_signed, report.journal_sealed) == (
        JOURNAL_LINES, RECORD_COVERS, JOURNAL_LINES)
    assert report.files == tuple(sorted(record["outputs"]))
    assert report.keys == (
        VerifiedKey("managed-services", VAULT_KID, record["keys"][0]["fingerprint_sha256"]),
        VerifiedKey("search-aes", MHSM_KID, None),
    )
    assert report.warnings == (WARNING,)
    assert report.notes == ()
    assert main(["verify", str(ceremony.directory), "--unpinned", "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data == json.loads(json.dumps(report.to_json()))
    assert data["directory"] == str(ceremony.directory) and data["signer_pinned"] is False
    assert captured.err == WARNING_LINE + END_UNCHECKED_LINE + UNPINNED_LINE


def test_anyone_can_check_it_with_openssl_and_sha256sum(ceremony):
    """The commands docs/record-format.md gives an auditor, run as they are written there."""
    directory = ceremony.directory
    done = subprocess.run(
        [OPENSSL, "dgst", "-sha384", "-verify", "signer.pub.pem", "-signature", "record.json.sig",
         "record.json"], cwd=directory, capture_output=True, text=True, check=False,
    )
    assert (done.returncode, done.stdout) == (0, "Verified OK\n")
    der = subprocess.run(
        [OPENSSL, "pkey", "-pubin", "-in", "signer.pub.pem", "-outform", "DER"],
        cwd=directory, capture_output=True, check=True,
    ).stdout
    assert sha256_hex(der) == ceremony.record()["signer"]["fingerprint_sha256"]
    sums = "".join(f"{digest}  {name}\n" for name, digest in ceremony.record()["outputs"].items())
    done = subprocess.run(["sha256sum", "--check", "--strict"], input=sums, cwd=directory,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("form", ["groups", "colons", "upper"])
def test_the_signer_fingerprint_from_the_paper_log(ceremony, capsys, form):
    fingerprint = ceremony.record()["signer"]["fingerprint_sha256"]
    given = {
        "groups": hex_groups(bytes.fromhex(fingerprint)),
        "colons": ":".join(fingerprint[i:i + 2] for i in range(0, 64, 2)),
        "upper": fingerprint.upper(),
    }[form]
    assert main(["verify", str(ceremony.directory), "--signer", given]) == 0
    out = capsys.readouterr().out
    assert f"Signer:     {hex_groups(bytes.fromhex(fingerprint))} (matches --signer)\n" in out


def test_a_renamed_copy_verifies_with_a_warning(ceremony, tmp_path, capsys):
    """Auditors copy directories; a name that is not the ceremony id is said, not refused."""
    copy = tmp_path / "audit-copy"
    shutil.copytree(ceremony.directory, copy)
    renamed = (
        f"ceremony: warning: directory audit-copy is not named after ceremony {CEREMONY_ID}; "
        "it may be a renamed copy\n"
    )
    assert main(["verify", str(copy), "--unpinned"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"Verified:   ceremony {CEREMONY_ID} in {copy}\n")
    assert captured.err == WARNING_LINE + renamed + END_UNCHECKED_LINE + UNPINNED_LINE
    assert main(["verify", str(copy), "--unpinned", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["notes"] == [renamed[len("ceremony: warning: "):-1]]
    assert captured.err == WARNING_LINE + renamed + END_UNCHECKED_LINE + UNPINNED_LINE


def test_the_directory_name_is_its_real_name_when_given_as_dot(ceremony, capsys, monkeypatch):
    monkeypatch.chdir(ceremony.directory)
    assert verify_ceremony(Path(".")).notes == ()


def test_a_chained_record_with_its_previous_record(tmp_path, capsys):
    first = build_ceremony(tmp_path / "q3")
    previous = first.directory / "record.json"
    second = build_ceremony(tmp_path / "q4", previous=previous)
    digest = sha256_hex(previous.read_bytes())
    assert main(["verify", str(second.directory), "--unpinned"]) == 0
    out = capsys.readouterr().out
    assert f"Previous:   SHA-256 {digest} (not checked; give --previous)\n" in out
    assert main(["verify", str(second.directory), "--unpinned", "--previous", str(previous)]) == 0
    assert f"Previous:   {previous} (SHA-256 {digest})\n" in capsys.readouterr().out


def test_journal_lines_after_the_record_are_chained_but_not_signed(ceremony, capsys):
    """The record covers the journal as it was when built; the last lines can only be
    checked for their chain and seals, so removing them whole is not detectable."""
    write_journal(ceremony, journal_lines(ceremony)[:RECORD_COVERS])
    assert main(["verify", str(ceremony.directory), "--unpinned"]) == 0
    out = capsys.readouterr().out
    assert (f"Journal:    {RECORD_COVERS} entries chained, the first {RECORD_COVERS} sealed by "
            f"the signer; the record covers the first {RECORD_COVERS}\n") in out


# -- the record and its signature ------------------------------------------------------------------


def test_an_altered_record_fails_the_signature(ceremony, capsys):
    record = ceremony.record()
    record["keys"][0]["after_export"] = "destroy"
    (ceremony.directory / "record.json").write_bytes(canonical(record))
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/record.json.sig is not a valid signature of record.json by "
        "signer.pub.pem",
        f"The record or its signature changed after signing; {EVIDENCE}",
    )


@pytest.mark.parametrize("damage", ["newline", "indent", "number", "escape"])
def test_a_record_that_is_not_canonical(ceremony, capsys, damage):
    path = ceremony.directory / "record.json"
    data = path.read_bytes()
    path.write_bytes({
        "newline": data + b"\n",
        "indent": json.dumps(json.loads(data), indent=1, sort_keys=True).encode(),
        "number": data.replace(b'"bits":2048', b'"bits":2048.0'),
        "escape": data.replace(b'"format":"cmk', b'"format":"\\u0063mk'),
    }[damage])
    assert path.read_bytes() != data
    assert fails(ceremony, capsys) == error(
        f"{path} is not in RFC 8785 canonical form",
        "Whitespace, key order and number forms count: record.json changed after it was signed; "
        f"{EVIDENCE}",
    )


@pytest.mark.parametrize("data", [b'{"format": ', b"[" * 200000], ids=["cut", "too-deep"])
def test_a_record_that_is_not_json(ceremony, capsys, data):
    (ceremony.directory / "record.json").write_bytes(data)
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/record.json is not JSON",
        f"record.json changed after it was signed; {EVIDENCE}",
    )


def test_a_record_too_deep_to_canonicalize_is_not_canonical(ceremony, capsys, monkeypatch):
    """JSON the parser could just take in but RFC 8785 cannot write back without recursing
    too deep: a fault of the record, not an internal error."""

    def too_deep(value):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("ceremony.record.verify.canonical", too_deep)
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/record.json is not in RFC 8785 canonical form",
        "Whitespace, key order and number forms count: record.json changed after it was signed; "
        f"{EVIDENCE}",
    )


@pytest.mark.parametrize("damage", ["flipped", "other-key"])
def test_an_altered_signature(ceremony, capsys, damage):
    path = ceremony.directory / "record.json.sig"
    signature = path.read_bytes()
    if damage == "flipped":
        signature = signature[:-1] + bytes([signature[-1] ^ 1])
    else:
        other = ec.generate_private_key(ec.SECP384R1())
        signature = sign(other, (ceremony.directory / "record.json").read_bytes())
    path.write_bytes(signature)
    assert fails(ceremony, capsys) == error(
        f"{path} is not a valid signature of record.json by signer.pub.pem",
        f"The record or its signature changed after signing; {EVIDENCE}",
    )


def test_a_swapped_signer_key(ceremony, capsys):
    other = ec.generate_private_key(ec.SECP384R1()).public_key()
    (ceremony.directory / "signer.pub.pem").write_bytes(pem_of(other))
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/signer.pub.pem has fingerprint "
        f"{public_key_fingerprint(public_der(other))}, but record.json names signer "
        f"{ceremony.record()['signer']['fingerprint_sha256']}",
        "signer.pub.pem is not the key the record names; compare both with the paper log and "
        f"{EVIDENCE}",
    )


def test_a_signer_key_that_is_not_p384(ceremony, capsys):
    other = rsa.generate_private_key(65537, 2048).public_key()
    (ceremony.directory / "signer.pub.pem").write_bytes(pem_of(other))
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/signer.pub.pem is not an EC P-384 public key",
        f"The record signer is an EC P-384 key on the token; {EVIDENCE}",
    )


def test_a_signer_key_on_a_curve_openssl_does_not_support(ceremony, capsys):
    (ceremony.directory / "signer.pub.pem").write_bytes(SECP112R1_PEM)
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/signer.pub.pem is not an EC P-384 public key",
        f"The record signer is an EC P-384 key on the token; {EVIDENCE}",
    )


@pytest.mark.parametrize(("named", "problem"), [
    ("\x1b]2;owned\x07\x1b[2J" + "a" * 54, "has a non-printable character"),
    ("AB" * 32, "is not a SHA-256 (64 lowercase hex digits)"),
    ("ab" * 31 + "\u202e", "has a non-printable character"),
    ("ab" * 31 + "xy", "is not a SHA-256 (64 lowercase hex digits)"),
], ids=["escapes", "upper", "bidi", "not-hex"])
def test_a_signer_fingerprint_in_the_record_that_is_not_hex(ceremony, capsys, named, problem):
    """Checked before the signature, so the record is not trusted yet: refused, never echoed."""
    record = ceremony.record()
    record["signer"]["fingerprint_sha256"] = named
    (ceremony.directory / "record.json").write_bytes(canonical(record))
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/record.json field signer.fingerprint_sha256 {problem}", NOT_FORMAT
    )


def test_a_record_format_with_escapes_is_not_echoed(ceremony, capsys):
    record = ceremony.record()
    record["format"] = "\x1b[2Jcmk-ceremony-record/1"
    (ceremony.directory / "record.json").write_bytes(canonical(record))
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/record.json field format has a non-printable character",
        NOT_FORMAT,
    )


def test_a_wrong_signer_pinned(ceremony, capsys):
    fingerprint = ceremony.record()["signer"]["fingerprint_sha256"]
    other = "ab" * 32
    assert fails(ceremony, capsys, "--signer", other) == error(
        f"{ceremony.directory}/signer.pub.pem has fingerprint {fingerprint}, not {other} as "
        "given with --signer",
        f"Another key signed this record; {EVIDENCE}",
    )


def test_a_whole_directory_re_signed_by_another_key_needs_the_paper_log(ceremony, capsys):
    """A forger who re-signs everything makes a consistent directory: only --signer shows it."""
    original = ceremony.record()["signer"]["fingerprint_sha256"]
    forger = ec.generate_private_key(ec.SECP384R1())
    forged = public_key_fingerprint(public_der(forger.public_key()))
    (ceremony.directory / "signer.pub.pem").write_bytes(pem_of(forger.public_key()))
    forgery = SyntheticCeremony(ceremony.directory, forger)
    journal = forgery.reseal(forger)
    forgery.resign(lambda record: (record["signer"].update(fingerprint_sha256=forged),
                                   record.update(journal=journal)))
    assert main(["verify", str(ceremony.directory), "--unpinned"]) == 0
    capsys.readouterr()
    assert fails(ceremony, capsys, "--signer", original) == error(
        f"{ceremony.directory}/signer.pub.pem has fingerprint {forged}, not {original} as given "
        "with --signer",
        f"Another key signed this record; {EVIDENCE}",
    )


def test_a_signer_fingerprint_that_is_not_hex_is_bad_input(ceremony, capsys):
    assert fails(ceremony, capsys, "--signer", "F462 2E26", code=2) == error(
        "--signer 'F462 2E26' is not a SHA-256 fingerprint (64 hex digits; spaces and colons "
        "allowed)",
        "Copy it from the paper log",
    )


def test_another_record_format(ceremony, capsys):
    ceremony.resign(lambda record: record.update(format="cmk-ceremony-record/2"))
    assert fails(ceremony, capsys) == error(
        f'{ceremony.directory}/record.json has format "cmk-ceremony-record/2", expected '
        '"cmk-ceremony-record/1"',
        "This tool verifies cmk-ceremony-record/1 records only",
    )


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r.pop("keks"), "field keks is missing or not a list of objects"),
    (lambda r: r["journal"].update(entries="8"),
     "field journal.entries is missing or not an integer"),
    (lambda r: r["journal"].update(entries=0), "field journal.entries is not a positive integer"),
    (lambda r: r["signer"].pop("fingerprint_sha256"),
     "field signer.fingerprint_sha256 is missing or not a string"),
    (lambda r: r["outputs"].update({"../escape.txt": "0" * 64}),
     "field outputs lists '../escape.txt', which is not an output path inside the directory"),
    (lambda r: r["outputs"].update({"record.json": "0" * 64}),
     "field outputs lists 'record.json', which is not an output path inside the directory"),
    (lambda r: r["keys"][1].update(kek="nowhere"),
     "field keys[2].kek names 'nowhere', which keks does not list"),
    (lambda r: r["keys"][0]["files"].update(byok="keys/other.byok"),
     "field keys[1].files.byok names 'keys/other.byok', which outputs does not list"),
    (lambda r: r["self_test"].update(warnings=[1]),
     "field self_test.warnings is missing or not a list of strings"),
    (lambda r: r["self_test"].update(warnings=["\x1b[2J\x1b[Hall checks passed"]),
     "field self_test.warnings has a non-printable character"),
    (lambda r: r["ceremony"].update(id="2026-q4\x1b[8m"),
     "field ceremony.id has a non-printable character"),
    (lambda r: r["keys"][0].update(fingerprint_sha256="\x1b[2J"),
     "field keys[1].fingerprint_sha256 has a non-printable character"),
    (lambda r: r.update(format=1), "field format is missing or not a string"),
    (lambda r: r["outputs"].update({"plan.toml": "\x1b[2J"}),
     "field outputs gives 'plan.toml' a SHA-256 that is not 64 lowercase hex digits"),
], ids=["keks", "entries-type", "entries-zero", "signer", "outside", "excluded", "kek",
        "byok-unlisted", "warnings", "warnings-escape", "id-escape", "fingerprint-escape",
        "format-type", "digest-escape"])
def test_a_signed_record_that_does_not_follow_the_format(ceremony, capsys, change, message):
    ceremony.resign(change)
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/record.json {message}", NOT_FORMAT
    )


# -- the journal ---------------------------------------------------------------------------------


def test_an_edited_journal_line(ceremony, capsys):
    lines = journal_lines(ceremony)
    lines[2] = edit_line(lines[2], fingerprint="0" * 64)
    write_journal(ceremony, lines)
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/journal.jsonl line 4 breaks the hash chain: prev is not the "
        "SHA-256 of line 3",
        JOURNAL_TAMPERED,
    )


def test_a_deleted_journal_line(ceremony, capsys):
    lines = journal_lines(ceremony)
    write_journal(ceremony, lines[:1] + lines[2:])
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/journal.jsonl line 2 has seq 3, expected 2", JOURNAL_TAMPERED
    )


def test_a_journal_line_nested_too_deep(ceremony, capsys):
    lines = journal_lines(ceremony)
    lines[1] = b"[" * 200000 + b"\n"
    write_journal(ceremony, lines)
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/journal.jsonl line 2 is not JSON", JOURNAL_TAMPERED
    )


def test_a_truncated_journal(ceremony, capsys):
    write_journal(ceremony, journal_lines(ceremony)[:5])
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/journal.jsonl has 5 lines, fewer than the {RECORD_COVERS} "
        "record.json covers",
        f"Lines were removed after the record was signed; {EVIDENCE}",
    )


def test_a_journal_cut_mid_line(ceremony, capsys):
    lines = journal_lines(ceremony)
    write_journal(ceremony, [*lines[:9], lines[9][:20]])
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/journal.jsonl line 10 is incomplete: no newline ends it",
        "A crash during a write leaves a torn last line; resuming offers to drop it",
    )


def test_a_rewritten_journal_tail_fails_the_head(ceremony, capsys):
    """Line 8 edited and the lines after it dropped: the chain holds, the head does not."""
    lines = journal_lines(ceremony)[:RECORD_COVERS]
    lines[-1] = edit_line(lines[-1], files=["runbook.md"])
    write_journal(ceremony, lines)
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/journal.jsonl line {RECORD_COVERS} is not the line record.json "
        "covers: its SHA-256 is not journal.head",
        f"The journal was rewritten after the record was signed; {EVIDENCE}",
    )


# -- the outputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "keys/managed-services.byok", "keys/managed-services.pub.pem", "runbook.md", "plan.toml",
])
def test_an_altered_file(ceremony, capsys, name):
    path = ceremony.directory / name
    listed = ceremony.record()["outputs"][name]
    if name.endswith(".pub.pem"):
        path.write_bytes(pem_of(rsa.generate_private_key(65537, 2048).public_key()))
    else:
        path.write_bytes(path.read_bytes().replace(b"e", b"E", 1))
    assert fails(ceremony, capsys) == error(
        f"{path} has SHA-256 {sha256_hex(path.read_bytes())}, but record.json lists {listed}",
        f"The file was changed after the record was signed; {EVIDENCE}",
    )


def test_a_missing_file(ceremony, capsys):
    (ceremony.directory / "report.md").unlink()
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/report.md is listed in record.json but missing",
        f"A file was removed after the record was signed; {EVIDENCE}",
    )


def test_an_extra_unlisted_file(ceremony, capsys):
    (ceremony.directory / "keys" / "notes.txt").write_text("added later\n")
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/keys/notes.txt is not listed in record.json",
        f"A file was added after the record was signed; {EVIDENCE}",
    )


def test_a_part_file_left_over(ceremony, capsys):
    (ceremony.directory / ".report.md.x7k2q9.part").write_text("half")
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/.report.md.x7k2q9.part is a half-written temporary file",
        f"A write was interrupted and the directory is incomplete; {EVIDENCE}",
    )


def test_a_plan_the_record_does_not_name(ceremony, capsys):
    ceremony.resign(lambda record: record["plan"].update(sha256="0" * 64))
    listed = ceremony.record()["outputs"]["plan.toml"]
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/plan.toml has SHA-256 {listed}, but record.json plan.sha256 is "
        f"{'0' * 64}",
        f"The record names another plan than the one in the directory; {EVIDENCE}",
    )


# -- keys ------------------------------------------------------------------------------------


def test_a_byok_wrapped_for_another_kek(ceremony, capsys):
    """Re-signed with the new package's SHA-256: only the kid check can see it."""
    path = ceremony.directory / "keys" / "managed-services.byok"
    other = VAULT_KID[:-32] + "0" * 32
    package = parse_byok(path.read_bytes(), str(path))
    path.write_bytes(build_byok(parse_kid(other), package.ciphertext, GENERATOR))
    ceremony.resign(lambda record: None)
    assert fails(ceremony, capsys) == error(
        f"{path} has header kid {other}, but record.json gives KEK contoso-cmk-kv the kid "
        f"{VAULT_KID}",
        f"The package is wrapped for another KEK: do not import it; {EVIDENCE}",
    )


def test_a_malformed_byok_in_a_signed_record_is_a_verification_failure(ceremony, capsys):
    path = ceremony.directory / "keys" / "search-aes.byok"
    path.write_bytes(path.read_bytes().replace(b'"alg": "dir"', b'"alg": "RSA-OAEP"'))
    ceremony.resign(lambda record: None)
    assert fails(ceremony, capsys) == error(
        f'BYOK file {path} has header alg "RSA-OAEP", expected "dir"',
        f"The ceremony did not write this package; {EVIDENCE}",
    )


def test_a_public_key_that_is_not_the_keys(ceremony, capsys):
    """Re-signed with the new file's SHA-256: only the fingerprint check can see it."""
    path = ceremony.directory / "keys" / "managed-services.pub.pem"
    other = rsa.generate_private_key(65537, 2048).public_key()
    path.write_bytes(pem_of(other))
    ceremony.resign(lambda record: None)
    assert fails(ceremony, capsys) == error(
        f"{path} has fingerprint {public_key_fingerprint(public_der(other))}, but record.json "
        f"gives key managed-services the fingerprint "
        f"{ceremony.record()['keys'][0]['fingerprint_sha256']}",
        f"This is not the public key of the key the ceremony made; {EVIDENCE}",
    )


def test_a_public_key_file_that_is_not_a_key(ceremony, capsys):
    path = ceremony.directory / "keys" / "managed-services.pub.pem"
    path.write_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    ceremony.resign(lambda record: None)
    assert fails(ceremony, capsys) == error(
        f"{path} is not a PEM public key", f"The ceremony did not write this file; {EVIDENCE}"
    )


# -- the previous record ------------------------------------------------------------------------


def test_a_previous_record_that_is_not_the_one_named(tmp_path, capsys):
    first = build_ceremony(tmp_path / "q3")
    second = build_ceremony(tmp_path / "q4", previous=first.directory / "record.json")
    other = tmp_path / "other-record.json"
    other.write_bytes(b"{}")
    named = sha256_hex((first.directory / "record.json").read_bytes())
    assert fails(second, capsys, "--previous", str(other)) == error(
        f"{other} has SHA-256 {sha256_hex(b'{}')}, but {second.directory}/record.json "
        f"previous_record_sha256 is {named}",
        "This ceremony follows another record; find the record.json it names",
    )


def test_a_previous_record_given_for_a_record_that_names_none(ceremony, tmp_path, capsys):
    other = tmp_path / "other-record.json"
    other.write_bytes(b"{}")
    assert fails(ceremony, capsys, "--previous", str(other)) == error(
        f"{ceremony.directory}/record.json names no previous record (previous_record_sha256 is "
        f"null), but --previous {other} was given",
        "This ceremony is not chained to a previous one; check which record you expected",
    )


def test_a_previous_record_that_cannot_be_read_is_bad_input(ceremony, tmp_path, capsys):
    missing = tmp_path / "missing.json"
    assert fails(ceremony, capsys, "--previous", str(missing), code=2) == error(
        f"{missing} cannot be read (No such file or directory)", "Check the path"
    )


# -- not a ceremony directory -------------------------------------------------------------------


def test_a_directory_that_is_not_a_ceremony_is_bad_input(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["verify", str(tmp_path), "--unpinned"]) == 2
    assert capsys.readouterr().err == error(
        f"{tmp_path} is not a ceremony directory: it has none of journal.jsonl, record.json, "
        "record.json.sig, signer.pub.pem",
        "Give the directory a ceremony wrote: <output directory>/<ceremony id>",
    )
    assert main(["verify", str(tmp_path / "nowhere"), "--unpinned"]) == 2
    assert capsys.readouterr().err == error(
        f"{tmp_path}/nowhere is not a directory",
        "Give the directory a ceremony wrote: <output directory>/<ceremony id>",
    )


@pytest.mark.parametrize("name", ["record.json.sig", "signer.pub.pem", "record.json"])
def test_a_ceremony_directory_missing_a_fixed_file(ceremony, capsys, name):
    (ceremony.directory / name).unlink()
    assert fails(ceremony, capsys) == error(
        f"{ceremony.directory}/{name} is missing",
        "A finished ceremony has journal.jsonl, record.json, record.json.sig, signer.pub.pem: "
        f"this one did not finish, or a file was removed; {EVIDENCE}",
    )


@pytest.mark.parametrize("name", ["journal.jsonl", "record.json", "record.json.sig",
                                  "signer.pub.pem"])
@pytest.mark.parametrize("kind", ["fifo", "symlink", "directory"])
def test_a_fixed_file_that_is_not_a_regular_file(ceremony, capsys, name, kind):
    """Refused from lstat before anything is read: a FIFO would block the read for ever."""
    path = ceremony.directory / name
    target = ceremony.directory.parent / f"elsewhere-{name}"
    path.rename(target)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        path.symlink_to(target)
    else:
        path.mkdir()
    assert fails(ceremony, capsys) == error(f"{path} is not a regular file", REGULAR_ONLY)


def test_a_fixed_file_that_cannot_be_looked_at_is_bad_input(ceremony, capsys, monkeypatch):
    path = ceremony.directory / "record.json.sig"
    real_lstat = Path.lstat

    def lstat(self):
        if self == path:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real_lstat(self)

    monkeypatch.setattr(Path, "lstat", lstat)
    assert fails(ceremony, capsys, code=2) == error(
        f"{path} cannot be read (Permission denied)", "Check the path"
    )


def test_verify_needs_the_signer_pin_or_an_explicit_unpinned(ceremony, capsys):
    assert main(["verify", str(ceremony.directory)]) == 2
    assert capsys.readouterr().err == error(
        "give --signer FINGERPRINT (from the paper log), or --unpinned, but not both",
        "Anyone can re-sign a forged directory with a key of their own; only the signer's "
        "fingerprint from the paper log proves the record is the ceremony's",
    )


def test_journal_end_must_be_a_sha256(ceremony, capsys):
    assert main(["verify", str(ceremony.directory), "--unpinned", "--journal-end", "abc"]) == 2
    assert capsys.readouterr().err == error(
        "--journal-end 'abc' is not a SHA-256 fingerprint (64 hex digits; spaces and colons "
        "allowed)",
        "Copy it from the paper log",
    )
