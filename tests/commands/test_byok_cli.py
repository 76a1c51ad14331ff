"""`ceremony kek inspect`, `byok export` and `byok check` end to end on real tokens and files."""

import argparse
import asyncio
import json

import pytest

from ceremony.azure.byok import NOT_PROVEN, parse_byok
from ceremony.azure.kek import load_kek
from ceremony.cli import main
from ceremony.commands.byok import AT_A_TERMINAL, ExportRequest, export_with
from ceremony.commands.tty import TtyOperator
from ceremony.engine.operator import ScriptedOperator
from ceremony.errors import StepFailed, TokenError
from ceremony.hsm.templates import Policy
from ceremony.keyspec import KeySpec
from ceremony.pins import PinSource
from tests.conftest import PIN_ENV, SO_PIN, TOKEN, USER_PIN, logged_in
from tests.engine.test_operators import Terminal
from tests.support.final_try import pretend_final_try
from tests.support.rehearsal import make_vault

PIN_FLAGS = ["--user-pin", "env:CEREMONY_USER_PIN", "--so-pin", "env:CEREMONY_SO_PIN"]


@pytest.fixture
def vault(token_store, tmp_path):
    """A rehearsal vault token with a 3072-bit KEK; its PEM written to kek.pem."""
    rehearsal, kek = make_vault(token_store)
    (tmp_path / "kek.pem").write_bytes(kek.public_pem)
    yield rehearsal, kek
    rehearsal.service.close()


def _make_key(token_store, spec, label, policy=Policy.TRUSTED):
    service = logged_in(token_store)
    facts = service.facts(service.generate(spec, label, policy))
    service.close()
    return facts


def _export(token_store, tmp_path, kek, label, *extra):
    env = {**token_store.env, **PIN_ENV}
    argv = ["byok", "export", "--token", TOKEN, "--key", label, "--kek",
            str(tmp_path / "kek.pem"), "--kid", kek.kid, "--out", str(tmp_path / "out"),
            *PIN_FLAGS, *extra]
    return main(argv, env=env)


def test_kek_inspect_shows_fingerprint_and_pgp_words(vault, tmp_path, capsys):
    _, kek = vault
    assert main(["kek", "inspect", str(tmp_path / "kek.pem"), "--kid", kek.kid]) == 0
    out = capsys.readouterr().out
    assert f"KEK:          {kek.kid}" in out
    assert "Target:       Key Vault rehearsal-vault (public cloud)" in out
    assert "Key:          RSA 3072, e = 65537" in out
    assert main(["kek", "inspect", str(tmp_path / "kek.pem"), "--kid", kek.kid, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["pgp_words"]) == 32 and data["bits"] == 3072


@pytest.mark.parametrize("spec", [KeySpec("rsa", 3072), KeySpec("ec", curve="P-256K")], ids=str)
def test_export_then_check_then_the_vault_imports_it(vault, token_store, tmp_path, capsys, spec):
    rehearsal, kek = vault
    facts = _make_key(token_store, spec, "cmk-key")
    assert _export(token_store, tmp_path, kek, "cmk-key") == 0
    captured = capsys.readouterr()
    kty = "RSA" if spec.kind == "rsa" else "EC --curve P-256K"
    command = ("az keyvault key import --vault-name rehearsal-vault --name cmk-key "
               f"--kty {kty} --byok-file cmk-key.byok")
    assert captured.out == command + "\n"
    assert "ceremony: warning: token pads key blobs with zero bytes" in captured.err
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "cmk-key.az-import.txt", "cmk-key.byok", "cmk-key.pub.pem"]
    assert (out / "cmk-key.az-import.txt").read_text() == command + "\n"
    package = json.loads((out / "cmk-key.byok").read_bytes())
    assert list(package) == ["schema_version", "header", "ciphertext", "generator"]
    assert package["header"] == {"kid": kek.kid, "alg": "dir", "enc": "CKM_RSA_AES_KEY_WRAP"}
    assert package["generator"] == "cmk-ceremony 0.1.0; SoftHSM project SoftHSM v2 fw 2.6"
    assert main(["byok", "check", str(out / "cmk-key.byok"), "--kek",
                 str(tmp_path / "kek.pem"), "--kid", kek.kid]) == 0
    ciphertext = parse_byok((out / "cmk-key.byok").read_bytes(), "x").ciphertext
    assert capsys.readouterr().out == (
        f"{out / 'cmk-key.byok'}: well-formed BYOK package for {kek.kid}\n"
        "fits the given KEK: 384 bytes of RSA-OAEP, the size of its 3072-bit modulus and below "
        f"it, then {len(ciphertext) - 384} bytes of AES-KWP\n"
        f"not proven: {NOT_PROVEN}\n"
        f"generator: {package['generator']}\n")
    assert main(["byok", "check", str(out / "cmk-key.byok"), "--kek",
                 str(tmp_path / "kek.pem"), "--kid", kek.kid, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rsa_part_bytes"], report["kwp_part_bytes"]) == (384, len(ciphertext) - 384)
    assert report["checked_against_kek"] is True and report["not_proven"] == NOT_PROVEN
    assert main(["byok", "check", str(out / "cmk-key.byok"), "--kek",
                 str(tmp_path / "kek.pem")]) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: KEK file {tmp_path / 'kek.pem'} comes without a kid. Give the KEK's "
        "versioned kid, or the JSON that `az keyvault key show` prints\n")

    ciphertext = parse_byok((out / "cmk-key.byok").read_bytes(), "x").ciphertext
    assert rehearsal.import_byok(kek, ciphertext, spec, facts.public_der.hex()).evidence
    for path in out.iterdir():
        assert USER_PIN.encode() not in path.read_bytes()
        assert SO_PIN.encode() not in path.read_bytes()


def test_aes_target_for_a_vault_kid_is_refused_and_nothing_is_written(
    vault, token_store, tmp_path, capsys,
):
    _, kek = vault
    _make_key(token_store, KeySpec("aes", 256), "aes-key")
    assert _export(token_store, tmp_path, kek, "aes-key") == 2
    err = capsys.readouterr().err
    assert err == (
        "ceremony: error: target AES 256 cannot be imported into Key Vault rehearsal-vault "
        f"({kek.kid}); Azure accepts AES keys only in a Managed HSM. Use a Managed HSM KEK for "
        "AES targets, or an RSA or EC target for a Key Vault\n"
    )
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_existing_output_is_refused_before_anything_is_written(
    vault, token_store, tmp_path, capsys,
):
    _, kek = vault
    _make_key(token_store, KeySpec("rsa", 2048), "dup")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "dup.byok").write_text("earlier")
    assert _export(token_store, tmp_path, kek, "dup") == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: {tmp_path / 'out' / 'dup.byok'} already exists. Choose a new output "
        "directory; the tool never overwrites a file\n"
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dup.byok"]
    assert (tmp_path / "out" / "dup.byok").read_text() == "earlier"


def test_extractable_policy_needs_no_so_pin(vault, token_store, tmp_path, capsys):
    _, kek = vault
    _make_key(token_store, KeySpec("rsa", 2048), "plain", Policy.EXTRACTABLE)
    env = {**token_store.env, "CEREMONY_USER_PIN": USER_PIN}
    argv = ["byok", "export", "--token", TOKEN, "--key", "plain", "--kek",
            str(tmp_path / "kek.pem"), "--kid", kek.kid, "--out", str(tmp_path / "out"),
            "--policy", "extractable", "--user-pin", "env:CEREMONY_USER_PIN", "--json"]
    assert main(argv, env=env) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["policy"] == "extractable" and len(result["files"]) == 3


def test_pin_on_the_command_line_is_refused(token_store, tmp_path, capsys):
    argv = ["byok", "export", "--token", TOKEN, "--key", "k", "--kek", str(tmp_path / "k.pem"),
            "--kid", "x", "--out", str(tmp_path), "--user-pin", "123456"]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "ceremony: error: --user-pin: the value given is not a PIN source (not shown, in case "
        "it is a PIN); use one of prompt, pinpad, fd:N, file:PATH, env:NAME, "
        "keyring:SERVICE/USERNAME. A PIN never goes on the command line; name where to read it "
        "from\n"
    )


def test_byok_check_refuses_a_package_that_does_not_fit_the_kek(
    vault, token_store, tmp_path, capsys,
):
    _, kek = vault
    _make_key(token_store, KeySpec("rsa", 2048), "k")
    assert _export(token_store, tmp_path, kek, "k") == 0
    capsys.readouterr()
    package = json.loads((tmp_path / "out" / "k.byok").read_bytes())
    package["ciphertext"] = package["ciphertext"][:-8]  # 6 bytes short: KWP part off by 6
    damaged = tmp_path / "damaged.byok"
    damaged.write_text(json.dumps(package))
    argv = ["byok", "check", str(damaged), "--kek", str(tmp_path / "kek.pem"), "--kid", kek.kid]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("ceremony: error: BYOK ciphertext of ")
    assert "does not fit a 3072-bit KEK" in err


def test_byok_check_refuses_a_kek_with_another_kid(vault, token_store, tmp_path, capsys):
    _, kek = vault
    _make_key(token_store, KeySpec("rsa", 2048), "k")
    assert _export(token_store, tmp_path, kek, "k") == 0
    capsys.readouterr()
    other_kid = kek.kid.rsplit("/", 1)[0] + "/" + "0" * 32
    argv = ["byok", "check", str(tmp_path / "out" / "k.byok"), "--kek",
            str(tmp_path / "kek.pem"), "--kid", other_kid]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: BYOK kid {kek.kid} is not the KEK kid {other_kid}. Wrap the key "
        "again with the KEK of the vault it is meant for\n"
    )


def test_a_label_that_would_leave_the_output_directory_is_refused(
    vault, token_store, tmp_path, capsys,
):
    _, kek = vault
    _make_key(token_store, KeySpec("rsa", 2048), "../escaped")
    assert _export(token_store, tmp_path, kek, "../escaped") == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "ceremony: error: '../escaped' cannot name the output files: it is not 1-64 letters, "
        "digits, '.', '_' or '-', not starting with '.'. Give --name with a plain file name for "
        "the outputs"
    )
    assert not (tmp_path / "escaped.byok").exists()
    assert _export(token_store, tmp_path, kek, "../escaped", "--name", "escaped",
                   "--azure-name", "escaped") == 0
    assert (tmp_path / "out" / "escaped.byok").exists()


@pytest.mark.parametrize(("key", "extra", "problem"), [
    ("../escaped", [], "'../escaped' cannot name the output files: it is not 1-64 letters, "
                       "digits, '.', '_' or '-', not starting with '.'. Give --name with a plain "
                       "file name for the outputs"),
    ("k", ["--name", "dup"], "{out}/dup.byok already exists. Choose a new output directory; the "
                             "tool never overwrites a file"),
    ("k", ["--out", "{tmp}/missing/out"], "--out {tmp}/missing/out: {tmp}/missing does not "
                                          "exist. Make it first, or name a directory in an "
                                          "existing one"),
    ("k", ["--out", "{tmp}/kek.pem"], "--out {tmp}/kek.pem is not a directory. Name a "
                                      "directory for the outputs"),
])
def test_names_and_outputs_are_checked_before_any_pin(vault, tmp_path, capsys, key, extra,
                                                      problem):
    """No token, no PIN: the PIN files named do not exist, and the module is not even set, so
    the only error that can come first is the one about the names."""
    _, kek = vault
    out = tmp_path / "out"
    out.mkdir()
    (out / "dup.byok").write_text("earlier")
    extra = [arg.format(tmp=tmp_path) for arg in extra]
    argv = ["byok", "export", "--token", TOKEN, "--key", key, "--kek", str(tmp_path / "kek.pem"),
            "--kid", kek.kid,
            "--out", str(out), "--user-pin", f"file:{tmp_path}/no-pin",
            "--so-pin", f"file:{tmp_path}/no-so-pin", *extra]
    assert main(argv, env={}) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: {problem.format(tmp=tmp_path, out=out)}\n")
    assert not (tmp_path / "missing").exists()
    assert sorted(p.name for p in out.iterdir()) == ["dup.byok"]


def test_a_new_out_directory_is_made_but_not_its_parents(vault, token_store, tmp_path):
    _, kek = vault
    _make_key(token_store, KeySpec("rsa", 2048), "k")
    assert not (tmp_path / "out").exists()
    assert _export(token_store, tmp_path, kek, "k") == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "k.az-import.txt", "k.byok", "k.pub.pem"]


@pytest.fixture
def at_final_try(vault, token_store, tmp_path, monkeypatch):
    """Key `k` on a token at its user PIN's final try, and `byok export --policy extractable`'s
    arguments for it as the CLI checked them: (env, args, request)."""
    _, kek = vault
    _make_key(token_store, KeySpec("rsa", 2048), "k", Policy.EXTRACTABLE)
    pretend_final_try(monkeypatch)
    args = argparse.Namespace(token=TOKEN, serial=None, module=None, key="k",
                              out=tmp_path / "out", azure_name=None)
    request = ExportRequest(load_kek(tmp_path / "kek.pem", kek.kid), "k",
                            PinSource("env", "CEREMONY_USER_PIN"), None)
    return {**token_store.env, **PIN_ENV}, args, request


def test_byok_export_asks_a_person_before_the_final_pin_try(at_final_try, tmp_path):
    """The same token steps as a ceremony: at the final try a person types Yes first."""
    env, args, request = at_final_try
    terminal = Terminal(["Yes"])
    operator = TtyOperator(terminal.ask, terminal.say, env)
    asyncio.run(export_with(args, env, request, operator))
    assert terminal.screen == [
        f"Token {TOKEN} allows one more user PIN try; a wrong PIN now locks it. This cannot be "
        "undone. Type Yes to go on: "]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "k.az-import.txt", "k.byok", "k.pub.pem"]


def test_byok_export_stops_when_the_final_try_is_not_confirmed(at_final_try, tmp_path):
    env, args, request = at_final_try
    operator = TtyOperator(Terminal(["no"]).ask, print, env)
    with pytest.raises(StepFailed) as caught:
        asyncio.run(export_with(args, env, request, operator))
    assert caught.value.line() == (
        f"ceremony: error: not confirmed: Token {TOKEN} allows one more user PIN try; a wrong "
        "PIN now locks it. Nothing irreversible was done; run again when ready")
    assert not (tmp_path / "out").exists()


def test_byok_export_without_a_terminal_says_how_to_confirm_the_final_try(at_final_try,
                                                                         tmp_path):
    """No flag that does not exist: the hint names what a person can do instead."""
    env, args, request = at_final_try
    with pytest.raises(TokenError) as caught:
        asyncio.run(export_with(args, env, request,
                                ScriptedOperator(env, to_confirm=AT_A_TERMINAL)))
    assert caught.value.line() == (
        f"ceremony: error: token {TOKEN} reports the user PIN's final try; no PIN was tried. A "
        "scripted run never spends the final try; run `ceremony byok export` at a terminal, "
        "where a person confirms it once the PIN is certain")
    assert "--yes" not in caught.value.line()
    assert not (tmp_path / "out").exists()
