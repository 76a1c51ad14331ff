"""`ceremony plan check` against real SoftHSM tokens, and `ceremony plan new`."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from importlib import resources
from pathlib import Path

import pytest

from ceremony.cli import main
from ceremony.hsm.service import HsmService
from ceremony.hsm.templates import Policy
from ceremony.keyspec import KeySpec
from ceremony.pins import PinSource
from ceremony.plan.load import load_plan
from ceremony.plan.model import PinPart, PlanError
from tests.conftest import MODULE, TOKEN
from tests.plan.test_plan import KID, base_plan, edit, kek_pem, kek_show_json, write_plan

EXAMPLES = resources.files("ceremony") / "examples"
EXAMPLE = "example-plan.toml"
FILES = [
    "plan.toml", "journal.jsonl", "record.json", "record.json.sig", "signer.pub.pem",
    *(f"keys/{name}.{ext}" for name in ("managed-services", "managed-disks", "dbfs-root")
      for ext in ("byok", "az-import.txt", "pub.pem")),
    "runbook.md", "report.md",
]


@pytest.fixture
def example(tmp_path) -> Path:
    """The packaged example plan and its KEK, copied, pointed at the test token."""
    for name in (EXAMPLE, "kek-contoso-cmk-kv.pem"):
        shutil.copyfile(EXAMPLES / name, tmp_path / name)
    plan = tmp_path / EXAMPLE
    plan.write_text(plan.read_text().replace('token = "rehearsal"', f'token = "{TOKEN}"'))
    return plan


def test_the_packaged_example_plan_is_valid():
    plan = load_plan(Path(str(EXAMPLES / EXAMPLE)))
    assert plan.hsm.token == "rehearsal"
    assert [k.spec.size for k in plan.keys] == [3072, 4096, 3072]
    assert {f for k in plan.keys for f in k.features} == {
        "managed-services", "managed-disks", "dbfs-root"
    }
    assert [p.role for p in plan.participants].count("custodian") == 2
    assert {str(plan.hsm.user_pin), str(plan.hsm.so_pin)} == {
        "env:CEREMONY_USER_PIN", "env:CEREMONY_SO_PIN"
    }
    assert plan.keks[0].kek.kid.vault_kind == "vault"


def test_check_reports_token_mechanisms_labels_coverage_and_files(token_store, example, capsys):
    assert main(["plan", "check", str(example)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    out = captured.out
    serial = HsmService(MODULE, token_store.env).tokens()[0].serial
    assert f"Plan {example} is valid (SHA-256 " in out
    assert (f"Token found: {TOKEN} (serial {serial}), SoftHSM project SoftHSM v2, firmware 2.6"
            in out)
    assert "  yes  RSA-PKCS-OAEP: wrap the ephemeral AES key with the KEK (RSA-OAEP, SHA-1)" in out
    assert "  yes  AES-KEY-WRAP-PAD (KWP): wrap each key with the ephemeral AES key" in out
    assert ("  NO   RSA-AES-KEY-WRAP: absent: each key is wrapped in two steps (KWP, then "
            "RSA-OAEP), which gives the same .byok") in out
    assert "  free  cmk-managed-disks (key managed-disks)" in out
    assert (
        "  Note: without a login only public objects are visible; private objects (AES keys, "
        "private keys)\n  are checked again after login, before any key is generated.\n"
    ) in out
    assert "Azure Databricks CMK coverage (catalog revision 1)" in out
    assert ("Keys: managed-services = managed-services, managed-disks = managed-disks, dbfs-root "
            "= dbfs-root") in out
    assert "Not covered: no key assigned to the feature that would cover it (0)" in out
    assert "Not coverable by any customer-managed key (6)" in out
    assert re.search(f"\nOutput: {re.escape(str(example.parent))} is writable, [0-9]+ MiB free\n",
                     out)
    tail = out.split(f"Would write under {example.parent}/ceremonies/2026-q4-databricks-cmk/:\n")
    assert tail[1] == "".join(f"  {name}\n" for name in FILES) + (
        "\nReady: the ceremony can run with this plan and token\n"
    )
    assert not (example.parent / "ceremonies").exists()  # a check writes nothing


def test_check_json(token_store, example, capsys):
    assert main(["plan", "check", str(example), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ready"] is True and report["problems"] == []
    assert report["token"]["label"] == TOKEN
    assert report["one_step_wrap"] is False
    assert [m["name"] for m in report["mechanisms"]] == [
        "RSA-PKCS-OAEP", "AES-KEY-WRAP-PAD (KWP)", "EC-KEY-PAIR-GEN", "ECDSA",
        "RSA-PKCS-KEY-PAIR-GEN",
    ]
    assert all(m["present"] for m in report["mechanisms"])
    assert [label["free"] for label in report["labels"]] == [True, True, True]
    (coverage,) = report["coverage"]
    assert coverage["summary"] == {"covered": 16, "not-covered": 0, "not-coverable": 6}
    assert len(coverage["workspaces"]) == 2
    assert report["files"] == FILES
    assert report["directory"].endswith("/ceremonies/2026-q4-databricks-cmk")


def test_a_taken_label_stops_the_run(user_service, example, capsys):
    user_service.generate(KeySpec("rsa", 2048), "cmk-dbfs-root", Policy.EXTRACTABLE)
    user_service.close()  # logs out and releases the token lock for the command
    assert main(["plan", "check", str(example)]) == 3
    captured = capsys.readouterr()
    assert "  TAKEN cmk-dbfs-root (key dbfs-root)" in captured.out
    assert "Not ready: 1 problem(s), listed on stderr" in captured.out
    assert captured.err == (
        f"ceremony: error: label 'cmk-dbfs-root' of key dbfs-root is already taken on token "
        f"{TOKEN}. Choose a new label in the plan; the tool never reuses or overwrites a key\n"
    )


def test_a_missing_mechanism_stops_the_run(token_store, example, capsys, monkeypatch):
    # SoftHSM has every mechanism the ceremony needs: take two away from what the token reports.
    real_info = HsmService.info

    def info_without(self):
        info = real_info(self)
        mechanisms = tuple((name, present and name not in ("RSA-PKCS-OAEP", "ECDSA"))
                           for name, present in info.mechanisms)
        return dataclasses.replace(info, mechanisms=mechanisms)

    monkeypatch.setattr(HsmService, "info", info_without)
    assert main(["plan", "check", str(example)]) == 3
    captured = capsys.readouterr()
    assert "  NO   RSA-PKCS-OAEP: wrap the ephemeral AES key" in captured.out
    assert captured.err.splitlines() == [
        f"ceremony: error: token {TOKEN} lacks mechanism RSA-PKCS-OAEP, needed to wrap the "
        "ephemeral AES key with the KEK (RSA-OAEP, SHA-1). Use a token that offers it; "
        "`ceremony token info` lists the BYOK mechanisms",
        f"ceremony: error: token {TOKEN} lacks mechanism ECDSA, needed to sign the ceremony "
        "record. Use a token that offers it; `ceremony token info` lists the BYOK mechanisms",
    ]


def test_check_releases_the_token_lock(token_store, example, capsys):
    assert main(["plan", "check", str(example)]) == 0
    assert main(["plan", "check", str(example), "--json"]) == 0
    with HsmService(MODULE, token_store.env) as service:
        service.select(label=TOKEN)


def test_check_of_a_token_that_is_not_there(token_store, tmp_path, capsys):
    path = write_plan(tmp_path, edit(base_plan(), "hsm.token", "nope"))
    assert main(["plan", "check", str(path)]) == 3
    assert capsys.readouterr().err.startswith(
        "ceremony: error: no token labelled 'nope'; tokens present: "
    )


def test_check_of_an_invalid_plan_exits_2_with_one_line_per_problem(tmp_path, capsys):
    data = edit(edit(base_plan(), "key[2].size", 1024), "hsm.user_pin", "123456")
    path = write_plan(tmp_path, data)
    assert main(["plan", "check", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"ceremony: error: {path}: ") for line in lines)
    assert lines[1] == f"ceremony: error: {path}: key[2].size: 1024 is not one of 2048, 3072, 4096"
    assert lines[2].endswith("2 problems. Fix the plan and run "
                             f"`ceremony plan check {path}` again; nothing was touched")
    assert "123456" not in captured.err


def test_check_of_a_missing_plan_file(tmp_path, capsys):
    assert main(["plan", "check", str(tmp_path / "nope.toml")]) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: plan file {tmp_path}/nope.toml cannot be read (No such file or "
        "directory). Check the path of the plan file\n"
    )


def test_plan_new_writes_the_template_and_refuses_an_existing_file(tmp_path, capsys):
    path = tmp_path / "plan.toml"
    assert main(["plan", "new", str(path)]) == 0
    assert capsys.readouterr().err == (
        f"wrote {path}: change the values marked CHANGE, put kek.pem and kek.json beside it, then "
        f"run `ceremony plan check {path}`\n"
    )
    assert path.read_bytes() == (EXAMPLES / "new-plan.toml").read_bytes()
    assert main(["plan", "new", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: {path} already exists. Choose a new output directory; the tool never "
        "overwrites a file\n"
    )


def test_plan_new_does_not_make_missing_directories(tmp_path, capsys):
    path = tmp_path / "typo" / "plan.toml"
    assert main(["plan", "new", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"ceremony: error: {tmp_path / 'typo'} does not exist (removed, or its media unplugged?). "
        "Reconnect the media, or choose an existing directory\n")
    assert list(tmp_path.iterdir()) == []


def test_the_new_plan_loads_once_the_kek_files_are_beside_it(tmp_path, capsys):
    path = tmp_path / "plan.toml"
    assert main(["plan", "new", str(path)]) == 0
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert caught.value.problems == (f"kek[1].file: {tmp_path}/kek.pem does not exist",
                                     f"kek[1].json: {tmp_path}/kek.json does not exist")
    (tmp_path / "kek.pem").write_bytes(kek_pem())
    (tmp_path / "kek.json").write_text(kek_show_json())
    plan = load_plan(path)
    assert plan.keks[0].kek.kid.url == KID
    assert plan.hsm.so_pin.parts == (
        PinPart("CHANGE Custodian One", PinSource("prompt")),
        PinPart("CHANGE Custodian Two", PinSource("prompt")),
    )


def test_check_selects_the_token_by_serial(token_store, tmp_path, capsys):
    serial = HsmService(MODULE, token_store.env).tokens()[0].serial
    data = edit(edit(base_plan(), "hsm.token"), "hsm.serial", serial)
    assert main(["plan", "check", str(write_plan(tmp_path, data)), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["token"]["serial"] == serial
