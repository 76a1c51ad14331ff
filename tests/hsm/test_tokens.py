"""Token discovery, selection by label or serial, and `ceremony token list/info`."""

import json

import pytest

from ceremony.cli import main
from ceremony.errors import TokenError
from ceremony.hsm.module import software_token
from ceremony.hsm.service import HsmService
from tests.conftest import MODULE, TOKEN


def test_token_list_shows_initialised_tokens_only(token_store, capsys):
    assert main(["token", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["LABEL", "SERIAL", "MANUFACTURER", "MODEL"]
    assert len(out) == 2  # the free slot SoftHSM always offers is not listed
    assert out[1].startswith(f"{TOKEN} ")
    assert "SoftHSM project" in out[1]


def test_token_list_json(token_store, capsys):
    token_store.add_token("second")
    assert main(["token", "list", "--json"]) == 0
    labels = sorted(t["label"] for t in json.loads(capsys.readouterr().out))
    assert labels == ["second", TOKEN]


def test_token_info_reports_identity_flags_and_mechanisms(token_store, capsys):
    assert main(["token", "info", "--token", TOKEN]) == 0
    out = capsys.readouterr().out
    assert "Manufacturer:      SoftHSM project" in out
    assert "Model:             SoftHSM v2" in out
    assert "Firmware version:  2.6" in out
    assert "Flags:             login required, user PIN initialised" in out
    assert "  yes  RSA-PKCS-OAEP" in out
    assert "  yes  AES-KEY-WRAP-PAD (KWP)" in out
    assert "  NO   RSA-AES-KEY-WRAP" in out  # SoftHSM 2.6.1 lacks it: we wrap in two steps


def test_token_info_json_and_select_by_serial(token_store, capsys):
    assert main(["token", "info", "--token", TOKEN, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["mechanisms"]["ECDSA"] is True
    assert main(["token", "info", "--serial", info["serial"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == TOKEN


def test_token_not_found_lists_the_tokens_present(token_store, capsys):
    serial = HsmService(MODULE, token_store.env).tokens()[0].serial
    assert main(["token", "info", "--token", "nope"]) == 3
    assert capsys.readouterr().err == (
        f"ceremony: error: no token labelled 'nope'; tokens present: '{TOKEN}' (serial "
        f"{serial}). Check the label or serial, or initialise the token first\n"
    )


def test_ambiguous_label_lists_the_tokens_and_asks_for_a_serial(token_store, capsys):
    token_store.add_token(TOKEN)
    assert main(["token", "info", "--token", TOKEN]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"ceremony: error: 2 tokens labelled '{TOKEN}'; tokens present: ")
    assert err.endswith("Select the token by its serial instead\n")
    assert err.count("(serial ") == 2


def test_token_needs_exactly_one_selector(token_store, capsys):
    assert main(["token", "info"]) == 2
    assert capsys.readouterr().err == (
        "ceremony: error: ceremony token info: one of the arguments --token --serial is "
        "required. See 'ceremony token info --help'\n"
    )
    with pytest.raises(TokenError):
        HsmService(MODULE, token_store.env).select(serial="0000")


def test_missing_module_path_is_bad_input(token_store, capsys, tmp_path):
    missing = tmp_path / "nope.so"
    assert main(["token", "list", "--module", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: PKCS#11 module {missing} (from --module) does not exist. Give the "
        "path of the vendor's PKCS#11 library (.so)\n"
    )


def test_module_from_environment(token_store, capsys, tmp_path):
    missing = tmp_path / "env.so"
    assert main(["token", "list"], env={**token_store.env, "PKCS11_MODULE": str(missing)}) == 2
    assert "(from PKCS11_MODULE) does not exist" in capsys.readouterr().err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == "cmk-ceremony 0.1.0\n"


def test_an_internal_error_is_one_line_without_traceback(token_store, capsys, monkeypatch):
    """A state no real part reaches on demand: a bug inside a command (monkeypatched)."""
    from ceremony.commands import tokens

    def broken(args, env):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(tokens, "list_tokens", broken)
    assert main(["token", "list"]) == 1
    assert capsys.readouterr().err == (
        "ceremony: error: internal error ZeroDivisionError. Run again with --debug for the "
        "traceback and report it; a ceremony resumes with `ceremony run --resume DIR`\n"
    )
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "token", "list"])


def test_selecting_again_starts_over(service):
    from ceremony.secret import SecretPin
    from tests.conftest import USER_PIN

    service.login(SecretPin(USER_PIN))
    assert service.select(label=TOKEN).label == TOKEN  # the same token again: no lock clash
    service.login(SecretPin(USER_PIN))  # the old login session was closed


def test_a_token_label_with_an_escape_sequence_is_shown_escaped(token_store, capsys):
    """A token is input too: its label reaches the terminal only as printable text."""
    token_store.add_token("evil\x1b[2J")
    assert main(["token", "list"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert sorted(row.split()[0] for row in out.splitlines()[1:]) == ["evil\\x1b[2J", TOKEN]
    assert main(["token", "info", "--token", "evil\x1b[2J"]) == 0
    assert "Label:             evil\\x1b[2J\n" in capsys.readouterr().out


def test_softhsm_is_named_a_software_token_by_module_and_by_manufacturer(token_store):
    with HsmService(MODULE, token_store.env) as service:
        info = service.select(label=TOKEN)
    assert software_token(MODULE.name) and software_token(info.manufacturer)
    assert not software_token("libeTPkcs11.so") and not software_token("Thales")
