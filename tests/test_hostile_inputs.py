"""Hostile inputs (issue 8, items 5, 7, 9, 10): files that are not files, files too large,
JSON and TOML that parse into something no reader expects, and two answers where one is due.

A FIFO test proves itself: without O_NONBLOCK opening the FIFO would wait for a writer that
never comes, and the test would hang.
"""

from __future__ import annotations

import json
import os
import shutil
import socket

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ceremony.azure.byok import NOT_PROVEN, build_byok
from ceremony.azure.kid import parse_kid
from ceremony.cli import main
from ceremony.digests import sha256_hex
from ceremony.plan.load import load_plan
from tests.azure.test_kek import AZ_JSON, az_show_json
from tests.plan.test_plan import KID, base_plan, edit, kek_pem, write_plan
from tests.support.ceremony_dir import build_ceremony, pem_of

COPY = "Copy the file itself onto the media and name that copy"
RIGHT_FILE = "Check that it is the right file"
TAMPERED = "The journal was damaged or edited after it was written; keep it as evidence"
CHANGED = "record.json changed after it was signed; keep the directory as evidence"


def run(argv, capsys) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err


def listing(directory) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


# -- not a regular file ------------------------------------------------------------------------


def test_a_fifo_as_the_kek_file_is_refused_without_waiting(tmp_path, capsys):
    fifo = tmp_path / "kek.pem"
    os.mkfifo(fifo)
    assert run(["kek", "inspect", str(fifo), "--kid", KID], capsys) == (2, (
        f"ceremony: error: KEK file {fifo} is a FIFO (named pipe), not a regular file. {COPY}\n"))


def test_a_fifo_as_the_kek_json_file_is_refused(tmp_path, capsys):
    (tmp_path / "kek.pem").write_bytes(kek_pem())
    fifo = tmp_path / "kek.json"
    os.mkfifo(fifo)
    argv = ["kek", "inspect", str(tmp_path / "kek.pem"), "--json-file", str(fifo)]
    assert run(argv, capsys) == (2, (
        f"ceremony: error: KEK file {fifo} is a FIFO (named pipe), not a regular file. {COPY}\n"))


@pytest.mark.parametrize(("device", "kind"), [("/dev/zero", "a character device"),
                                                ("/dev/urandom", "a character device")])
def test_a_device_as_the_kek_file_is_refused(device, kind, capsys):
    assert run(["kek", "inspect", device, "--kid", KID], capsys) == (2, (
        f"ceremony: error: KEK file {device} is {kind}, not a regular file. {COPY}\n"))


def test_a_socket_as_the_kek_file_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short relative path: socket names are limited to 107 bytes
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind("kek.pem")
        assert run(["kek", "inspect", "kek.pem", "--kid", KID], capsys) == (2, (
            f"ceremony: error: KEK file kek.pem is a socket, not a regular file. {COPY}\n"))


def test_a_fifo_as_the_plan_is_refused_and_nothing_is_made(tmp_path, capsys):
    fifo = tmp_path / "plan.toml"
    os.mkfifo(fifo)
    line = f"ceremony: error: plan file {fifo} is a FIFO (named pipe), not a regular file. {COPY}\n"
    assert run(["plan", "check", str(fifo)], capsys) == (2, line)
    assert run(["run", str(fifo), "--yes"], capsys) == (2, line)
    assert listing(tmp_path) == ["plan.toml"]


def test_a_fifo_as_the_byok_file_is_refused(tmp_path, capsys):
    fifo = tmp_path / "k.byok"
    os.mkfifo(fifo)
    assert run(["byok", "check", str(fifo)], capsys) == (2, (
        f"ceremony: error: BYOK file {fifo} is a FIFO (named pipe), not a regular file. {COPY}\n"))


def test_a_fifo_as_the_previous_record_for_verify_is_refused(tmp_path, capsys):
    ceremony = build_ceremony(tmp_path / "c")
    fifo = tmp_path / "record.json"
    os.mkfifo(fifo)
    argv = ["verify", str(ceremony.directory), "--unpinned", "--previous", str(fifo)]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: previous record {fifo} is a FIFO (named pipe), not a regular file. "
        f"{COPY}\n")


# -- too large ---------------------------------------------------------------------------------


def sparse(path, size: int):
    with open(path, "wb"):
        pass
    os.truncate(path, size)
    return path


def test_an_oversized_kek_file_is_refused(tmp_path, capsys):
    big = sparse(tmp_path / "kek.pem", 64 * 1024 + 1)
    assert run(["kek", "inspect", str(big), "--kid", KID], capsys) == (2, (
        f"ceremony: error: KEK file {big} is 65,537 bytes; a KEK file is at most 64 KiB. "
        f"{RIGHT_FILE}\n"))


def test_a_kek_file_of_exactly_the_cap_is_read(tmp_path, capsys):
    path = tmp_path / "kek.pem"
    path.write_bytes(kek_pem().ljust(64 * 1024, b"\n"))
    assert main(["kek", "inspect", str(path), "--kid", KID]) == 0


def test_an_oversized_plan_is_refused_and_nothing_is_made(tmp_path, capsys):
    big = sparse(tmp_path / "plan.toml", 64 * 1024 * 1024 + 1)
    line = (f"ceremony: error: plan file {big} is 67,108,865 bytes; a plan file is at most "
            f"64 MiB. {RIGHT_FILE}\n")
    assert run(["plan", "check", str(big)], capsys) == (2, line)
    assert run(["run", str(big), "--yes"], capsys) == (2, line)
    assert listing(tmp_path) == ["plan.toml"]


def test_an_oversized_byok_file_is_refused(tmp_path, capsys):
    big = sparse(tmp_path / "k.byok", 1024 * 1024 + 1)
    assert run(["byok", "check", str(big)], capsys) == (2, (
        f"ceremony: error: BYOK file {big} is 1,048,577 bytes; a BYOK file is at most 1 MiB. "
        f"{RIGHT_FILE}\n"))


def test_an_oversized_journal_is_refused_by_verify(tmp_path, capsys):
    ceremony = build_ceremony(tmp_path)
    journal = ceremony.directory / "journal.jsonl"
    os.truncate(journal, 256 * 1024 * 1024 + 1)
    assert main(["verify", str(ceremony.directory), "--unpinned"]) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: journal {journal} is 268,435,457 bytes; a journal is at most 256 MiB. "
        f"{RIGHT_FILE}\n")


# -- JSON and TOML that parse into the unexpected ----------------------------------------------


def test_a_kek_json_with_a_huge_integer(tmp_path, capsys):
    path = tmp_path / "kek.json"
    path.write_text('{"key": {"kty": "RSA-HSM", "n": ' + "1" * 5000 + "}}")
    assert run(["kek", "inspect", str(path)], capsys) == (2, (
        f"ceremony: error: KEK file {path} has an integer of 5,000 digits, more than any field "
        f"takes. {AZ_JSON}\n"))


def test_a_kek_json_with_a_duplicate_member(tmp_path, capsys):
    good = az_show_json(rsa.generate_private_key(65537, 2048).public_key()).decode()
    path = tmp_path / "kek.json"
    path.write_text(good.replace('"key": {', f'"key": {{"kid": "{KID[:-1]}0",', 1))
    assert json.loads(path.read_text())["key"]["kid"] != f"{KID[:-1]}0"  # the last one wins
    assert run(["kek", "inspect", str(path)], capsys) == (2, (
        f'ceremony: error: KEK file {path} has member "kid" twice in one object. {AZ_JSON}\n'))


def test_a_kek_pem_with_two_keys(tmp_path, capsys):
    other = rsa.generate_private_key(65537, 2048).public_key()
    path = tmp_path / "kek.pem"
    path.write_bytes(kek_pem() + pem_of(other))
    assert run(["kek", "inspect", str(path), "--kid", KID], capsys) == (2, (
        f"ceremony: error: KEK file {path} holds 2 PEM blocks (PUBLIC KEY, PUBLIC KEY); a KEK "
        "file holds one public key. Keep the one KEK `az keyvault key download` wrote, alone in "
        "its file\n"))


def test_a_byok_file_with_a_huge_integer(tmp_path, capsys):
    path = tmp_path / "k.byok"
    path.write_text('{"schema_version": ' + "9" * 4301 + "}")
    assert run(["byok", "check", str(path)], capsys) == (2, (
        f"ceremony: error: BYOK file {path} has an integer of 4,301 digits, more than any field "
        "takes. Make the package again\n"))


@pytest.mark.parametrize(("edit_line", "problem"), [
    (lambda line: line.replace(b'"seq":1,', b'"seq":1' + b"0" * 5000 + b","),
     "has an integer of 5,001 digits, more than any field takes"),
    (lambda line: line.replace(b'"seq":1,', b'"seq":1,"seq":1,'),
     'has member "seq" twice in one object'),
], ids=["huge-integer", "duplicate-member"])
def test_a_journal_line_that_parses_ambiguously(tmp_path, capsys, edit_line, problem):
    ceremony = build_ceremony(tmp_path)
    journal = ceremony.directory / "journal.jsonl"
    first, rest = journal.read_bytes().split(b"\n", 1)
    journal.write_bytes(edit_line(first) + b"\n" + rest)
    assert main(["verify", str(ceremony.directory), "--unpinned"]) == 4
    assert capsys.readouterr().err == (
        f"ceremony: error: {journal} line 1 {problem}. {TAMPERED}\n")


@pytest.mark.parametrize(("text", "problem"), [
    ('{"format":' + "7" * 4400 + "}", "has an integer of 4,400 digits, more than any field takes"),
    ('{"format":1,"format":2}', 'has member "format" twice in one object'),
], ids=["huge-integer", "duplicate-member"])
def test_a_record_that_parses_ambiguously(tmp_path, capsys, text, problem):
    ceremony = build_ceremony(tmp_path)
    record = ceremony.directory / "record.json"
    record.write_text(text)
    assert main(["verify", str(ceremony.directory), "--unpinned"]) == 4
    assert capsys.readouterr().err == f"ceremony: error: {record} {problem}. {CHANGED}\n"


def plan_error_lines(path, problem: str) -> str:
    return (f"ceremony: error: {path}: {problem}\n"
            f"ceremony: error: {path}: 1 problem. Fix the plan and run `ceremony plan check "
            f"{path}` again; nothing was touched\n")


def test_a_plan_with_a_20000_part_dotted_key(tmp_path, capsys):
    path = tmp_path / "plan.toml"
    path.write_text("a" + ".a" * 19_999 + " = 1\n")
    assert run(["plan", "check", str(path)], capsys) == (2, plan_error_lines(
        path, "toml: tables or values are nested more than 32 levels deep"))
    assert run(["run", str(path), "--yes"], capsys)[0] == 2
    assert listing(tmp_path) == ["plan.toml"]


def test_a_plan_with_a_huge_integer(tmp_path, capsys):
    path = tmp_path / "plan.toml"
    path.write_text("[ceremony]\nid = " + "1" * 5000 + "\n")
    assert run(["plan", "check", str(path)], capsys) == (2, plan_error_lines(
        path, "toml: an integer has more than 4300 digits"))


def test_a_plan_with_a_byte_order_mark(tmp_path, capsys):
    plain = write_plan(tmp_path, base_plan())
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    line = (f"ceremony: error: plan file {path} starts with a UTF-8 byte order mark (BOM). Save it "
            "as UTF-8 without a BOM (in Notepad: Save As, encoding UTF-8)\n")
    assert run(["plan", "check", str(path)], capsys) == (2, line)
    assert run(["run", str(path), "--yes"], capsys) == (2, line)
    assert not (tmp_path / "out").exists()


# -- previous_record must be a record that verifies --------------------------------------------


def chained_plan(tmp_path, previous) -> str:
    data = base_plan()
    edit(data, "ceremony.previous_record", str(previous))
    return str(write_plan(tmp_path, data))


def test_a_previous_record_made_by_an_earlier_ceremony_is_accepted(tmp_path, capsys):
    previous = build_ceremony(tmp_path / "earlier").directory / "record.json"
    assert load_plan(chained_plan(tmp_path, previous)).ceremony.previous_record == previous


@pytest.mark.parametrize("case", ["any file", "signature changed", "no signature"])
def test_a_previous_record_that_does_not_verify_is_refused(tmp_path, capsys, case):
    earlier = build_ceremony(tmp_path / "earlier").directory
    previous = earlier / "record.json"
    if case == "any file":
        previous = earlier / "report.md"
        why = f"{previous} is not JSON. {CHANGED}"
    elif case == "signature changed":
        shutil.copy(earlier / "keys" / os.listdir(earlier / "keys")[0],
                    earlier / "record.json.sig", follow_symlinks=False)
        os.chmod(earlier / "record.json.sig", 0o644)
        why = (f"{earlier / 'record.json.sig'} is not a valid signature of record.json by "
               "signer.pub.pem. The record or its signature changed after signing; keep the "
               "directory as evidence")
    else:
        (earlier / "record.json.sig").unlink()
        why = (f"{earlier / 'record.json.sig'} cannot be read (No such file or directory). "
               "Check the path")
    before = sha256_hex(previous.read_bytes())
    path = chained_plan(tmp_path, previous)
    assert run(["plan", "check", path], capsys) == (2, plan_error_lines(
        path, f"ceremony.previous_record: {previous} is not a ceremony record that verifies: "
              f"{why}"))
    assert sha256_hex(previous.read_bytes()) == before


# -- byok check --kek: the RSA part's length, and what stays unproven ---------------------------


def test_byok_check_refuses_an_rsa_part_shorter_than_the_kek_modulus(tmp_path, capsys):
    """A package wrapped to a 2048-bit KEK (256 bytes of RSA-OAEP, then 40 of AES-KWP for an
    AES-256 key) cannot be for the 3072-bit KEK given, even under the same kid."""
    package = tmp_path / "k.byok"
    package.write_bytes(build_byok(parse_kid(KID), os.urandom(256 + 40), "elsewhere"))
    (tmp_path / "kek.pem").write_bytes(pem_of(rsa.generate_private_key(65537, 3072).public_key()))
    argv = ["byok", "check", str(package), "--kek", str(tmp_path / "kek.pem"), "--kid", KID]
    assert run(argv, capsys) == (2, (
        "ceremony: error: BYOK ciphertext of 296 bytes does not fit a 3072-bit KEK: it needs "
        "384 bytes of RSA-OAEP, then AES-KWP in a multiple of 8 bytes (at least 16). Wrap the "
        "key again with the KEK of the vault it is meant for\n"))


def test_byok_check_without_a_kek_says_what_it_did_not_check(tmp_path, capsys):
    package = tmp_path / "k.byok"
    package.write_bytes(build_byok(parse_kid(KID), bytes(424), "g"))
    assert main(["byok", "check", str(package)]) == 0
    assert capsys.readouterr().out == (
        f"{package}: well-formed BYOK package for {KID}\n"
        "not checked against a KEK: give --kek to check the kid and the RSA part's length\n"
        f"not proven: {NOT_PROVEN}\n"
        "generator: g\n")
