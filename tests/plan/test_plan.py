"""Plan loading: every rule, with the exact problem lines; all problems reported together.

Plans are built as dicts from a valid base, edited at field paths written as the problems
name them (`key[2].size`, 1-based), dumped to TOML and loaded from a temporary directory.
`tests/test_plan_fuzz.py` and `tests/test_plan_cli.py` reuse these helpers.
"""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ceremony.errors import ExitCode, exit_code_for
from ceremony.keyspec import KeySpec
from ceremony.pins import PinSource
from ceremony.plan.coverage import coverage_for
from ceremony.plan.fields import ONE_LINE_RULE
from ceremony.plan.load import load_plan
from ceremony.plan.model import PinPart, PinSpec, PlanError
from tests.support.ceremony_dir import build_ceremony

VERSION = "0123456789abcdef0123456789abcdef"
KID = f"https://contoso-kv.vault.azure.net/keys/kek/{VERSION}"
HSM_KID = f"https://contoso-hsm.managedhsm.azure.net/keys/kek/{VERSION}"
DELETE = object()
SOURCES = "prompt, pinpad, fd:N, file:PATH, env:NAME, keyring:SERVICE/USERNAME"
NOT_A_SOURCE = (
    "is not a PIN source (value not shown: a plan must never hold a PIN); use one of " + SOURCES
)
NOT_A_PIN_SOURCE_SPLIT = (
    NOT_A_SOURCE
    + ", or a split PIN { parts = [ { custodian = NAME, source = SOURCE }, ... ] }"
)
KEY_FIELDS = (
    "name, label, origin, source, unwrap_key, type, size, curve, kek, features, workspaces, "
    "azure_name, key_ops, after_export"
)
FEATURES = "managed-services, managed-disks, dbfs-root"
EC_REASON = (
    "EC keys in Key Vault can only sign and verify, and Databricks needs WrapKey and UnwrapKey"
)
AES_REASON = (
    "AES (oct-HSM) keys exist only in Managed HSM and no Azure Databricks CMK page documents "
    "them; every published example uses RSA"
)


# -- helpers shared with the other plan tests ------------------------------------------------


@cache
def kek_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def kek_pem() -> bytes:
    return kek_key().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def kek_show_json(kid: str = KID) -> str:
    """What `az keyvault key show` prints for the KEK."""
    numbers = kek_key().public_key().public_numbers()

    def b64(value: int) -> str:
        return base64.b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).decode()

    key = {"kid": kid, "kty": "RSA-HSM", "keyOps": ["import"], "n": b64(numbers.n),
           "e": b64(numbers.e)}
    return json.dumps({"key": key, "attributes": {"enabled": True}})


def base_plan() -> dict:
    """A valid plan: three RSA keys serving the three features of two workspaces."""
    return {
        "ceremony": {"id": "c1", "purpose": "test keys", "workspaces": ["ws-a", "ws-b"]},
        "participant": [
            {"name": "Ann", "role": "administrator"},
            {"name": "Cid", "role": "custodian"},
            {"name": "Cora", "role": "custodian"},
            {"name": "Wes", "role": "witness"},
        ],
        "hsm": {"token": "test", "user_pin": "env:USER_PIN", "so_pin": "env:SO_PIN"},
        "kek": [{"name": "vault", "file": "kek.pem", "kid": KID}],
        "key": [
            {"name": "ms", "label": "cmk-ms", "type": "rsa", "size": 3072, "kek": "vault",
             "features": ["managed-services"], "azure_name": "adb-ms"},
            {"name": "disk", "label": "cmk-disk", "type": "rsa", "size": 4096, "kek": "vault",
             "features": ["managed-disks"], "azure_name": "adb-disk"},
            {"name": "dbfs", "label": "cmk-dbfs", "type": "rsa", "size": 2048, "kek": "vault",
             "features": ["dbfs-root"], "azure_name": "adb-dbfs"},
        ],
        "output": {"directory": "out"},
    }


def edit(plan: dict, path: str, value=DELETE) -> dict:
    """Set (or delete) the field at a problem-style path such as `key[2].size`."""
    *parents, last = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    node = plan
    for part in parents:
        node = node[int(part[1:-1]) - 1] if part.startswith("[") else node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return plan


def toml_string(text: str) -> str:
    escaped = "".join(
        "\\" + ch if ch in '"\\' else f"\\u{ord(ch):04x}" if ord(ch) < 0x20 or ord(ch) == 0x7F
        else ch
        for ch in text
    )
    return f'"{escaped}"'


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    pairs = (f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items())
    return "{" + ", ".join(pairs) + "}"


def dump_toml(data: dict) -> str:
    """TOML for a dict: tables as [name] and [[name]], everything deeper inline."""
    lines = []
    nested = []
    for name, value in data.items():
        if isinstance(value, dict) or (
            isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        ):
            nested.append((name, value))
        else:
            lines.append(f"{toml_string(name)} = {toml_value(value)}")
    for name, value in nested:
        for table in [value] if isinstance(value, dict) else value:
            brackets = ("[", "]") if isinstance(value, dict) else ("[[", "]]")
            lines.append(f"{brackets[0]}{toml_string(name)}{brackets[1]}")
            lines += [f"{toml_string(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def write_plan(directory: Path, plan: dict | str, name: str = "plan.toml") -> Path:
    """Write the plan and the KEK file it names; return the plan's path."""
    (directory / "kek.pem").write_bytes(kek_pem())
    path = directory / name
    path.write_text(plan if isinstance(plan, str) else dump_toml(plan), encoding="utf-8")
    return path


def problems_of(directory: Path, plan: dict | str) -> list[str]:
    with pytest.raises(PlanError) as caught:
        load_plan(write_plan(directory, plan))
    return list(caught.value.problems)


# -- the valid plan ---------------------------------------------------------------------------


def test_base_plan_loads_into_frozen_dataclasses(tmp_path):
    path = write_plan(tmp_path, base_plan())
    plan = load_plan(path)
    assert plan.path == path
    assert plan.text == path.read_text()
    assert len(plan.sha256) == 64
    assert plan.ceremony.id == "c1" and plan.ceremony.workspaces == ("ws-a", "ws-b")
    assert plan.ceremony.previous_record is None
    assert [p.role for p in plan.participants] == [
        "administrator", "custodian", "custodian", "witness"
    ]
    assert plan.hsm.wrap_policy == "trusted"
    assert plan.hsm.user_pin == PinSpec(source=PinSource("env", "USER_PIN"))
    assert plan.keks[0].kek.kid.url == KID and plan.keks[0].file == tmp_path / "kek.pem"
    ms = plan.keys[0]
    assert ms.spec == KeySpec("rsa", 3072)
    assert ms.origin == "generate" and ms.after_export == "keep"
    assert ms.workspaces == ("ws-a", "ws-b")
    assert ms.key_ops == ("wrapKey", "unwrapKey")
    assert plan.ceremony_dir == tmp_path / "out" / "c1"
    assert plan.kek("vault") is plan.keks[0]
    with pytest.raises(AttributeError):
        plan.ceremony = None


def test_coverage_for_one_group_when_every_key_serves_every_workspace(tmp_path):
    plan = load_plan(write_plan(tmp_path, base_plan()))
    (group,) = coverage_for(plan)
    assert group.workspaces == ("ws-a", "ws-b")
    assert group.report.assignments == (
        ("managed-services", "ms"), ("managed-disks", "disk"), ("dbfs-root", "dbfs")
    )
    assert group.to_json()["workspaces"] == ["ws-a", "ws-b"]


def test_coverage_for_splits_workspaces_with_different_keys(tmp_path):
    data = base_plan()
    edit(data, "key[1].workspaces", ["ws-a"])
    data["key"].append({"name": "ms-b", "label": "cmk-ms-b", "type": "rsa", "size": 3072,
                        "kek": "vault", "features": ["managed-services"], "workspaces": ["ws-b"],
                        "azure_name": "adb-ms-b"})
    edit(data, "key[2].workspaces", ["ws-a"])
    a, b = coverage_for(load_plan(write_plan(tmp_path, data)))
    assert (a.workspaces, b.workspaces) == (("ws-a",), ("ws-b",))
    assert dict(a.report.assignments) == {
        "managed-services": "ms", "managed-disks": "disk", "dbfs-root": "dbfs"
    }
    assert dict(b.report.assignments) == {"managed-services": "ms-b", "dbfs-root": "dbfs"}
    assert [e.data_type for e in b.report.with_status("not-covered")] == [
        "classic-compute-data-disks"
    ]


def test_optional_fields_and_the_other_forms(tmp_path):
    previous = build_ceremony(tmp_path / "prev").directory / "record.json"
    (tmp_path / "kek.json").write_text(kek_show_json())
    (tmp_path / "transfer.bin").write_bytes(b"wrapped")
    data = base_plan()
    edit(data, "ceremony.previous_record", str(previous.relative_to(tmp_path)))
    edit(data, "ceremony.workspaces", [
        "ws-a",
        "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-1/providers/"
        "Microsoft.Databricks/workspaces/ws-b",
    ])
    edit(data, "key[1].workspaces", ["ws-a"])
    edit(data, "key[2].workspaces", ["ws-a"])
    edit(data, "key[3].workspaces", ["ws-a"])
    edit(data, "hsm.token")
    edit(data, "hsm.serial", "0123abcd")
    edit(data, "hsm.wrap_policy", "extractable")
    edit(data, "hsm.so_pin")
    edit(data, "hsm.user_pin", {"parts": [
        {"custodian": "Cid", "source": "prompt"}, {"custodian": "Cora", "source": "fd:3"},
    ]})
    edit(data, "kek[1].kid")
    edit(data, "kek[1].json", "kek.json")
    edit(data, "key[3].origin", "import")
    edit(data, "key[3].source", "transfer.bin")
    edit(data, "key[3].unwrap_key", "transport-key")
    edit(data, "key[3].after_export", "destroy")
    edit(data, "key[2].key_ops", ["wrapKey", "unwrapKey", "encrypt", "decrypt"])
    data["kek"].append({"name": "mhsm", "file": "kek.pem", "kid": HSM_KID})
    data["key"].append({"name": "aes", "label": "cmk-aes", "type": "aes", "size": 256,
                        "kek": "mhsm", "azure_name": "aes-key", "workspaces": ["ws-a"]})
    data["key"].append({"name": "sig", "label": "cmk-sig", "type": "ec", "curve": "P-384",
                        "kek": "mhsm", "features": [], "azure_name": "sig-key"})
    plan = load_plan(write_plan(tmp_path, data))
    assert plan.ceremony.previous_record == previous
    assert (plan.hsm.token, plan.hsm.serial, plan.hsm.so_pin) == (None, "0123abcd", None)
    assert plan.hsm.user_pin.parts == (
        PinPart("Cid", PinSource("prompt")), PinPart("Cora", PinSource("fd", "3"))
    )
    assert str(plan.hsm.user_pin) == "Cid: prompt + Cora: fd:3"
    assert plan.keks[0].kek.kid.url == KID  # from kek.json
    dbfs = plan.keys[2]
    assert (dbfs.origin, dbfs.source, dbfs.unwrap_key, dbfs.after_export) == (
        "import", tmp_path / "transfer.bin", "transport-key", "destroy"
    )
    assert plan.keys[3].spec == KeySpec("aes", 256)
    assert plan.keys[3].key_ops == ("wrapKey", "unwrapKey")
    assert plan.keys[4].key_ops == ("sign", "verify") and plan.keys[4].features == ()


# -- one rule at a time -----------------------------------------------------------------------

# (id, edits, expected problems); "{dir}" is the plan's directory.
CASES = [
    # unknown keys
    ("unknown-section", [("extra", 1)],
     ["extra: unknown key (allowed: ceremony, participant, hsm, kek, key, output)"]),
    ("unknown-ceremony-key", [("ceremony.colour", "red")],
     ["ceremony.colour: unknown key (allowed: id, purpose, workspaces, previous_record)"]),
    ("unknown-key-key", [("key[2].colour", "red")],
     [f"key[2].colour: unknown key (allowed: {KEY_FIELDS})"]),
    ("unknown-participant-key", [("participant[4].email", "w@example.com")],
     ["participant[4].email: unknown key (allowed: name, role)"]),
    ("unknown-hsm-key", [("hsm.slot", 0)],
     ["hsm.slot: unknown key (allowed: module, token, serial, wrap_policy, user_pin, so_pin)"]),
    ("unknown-kek-key", [("kek[1].size", 4096)],
     ["kek[1].size: unknown key (allowed: name, file, kid, json)"]),
    ("unknown-output-key", [("output.mode", "0700")],
     ["output.mode: unknown key (allowed: directory)"]),
    # missing
    ("missing-section", [("output", DELETE)], ["output: required section is missing"]),
    ("missing-participants", [("participant", DELETE)],
     ["participant: required section is missing"]),
    ("missing-field", [("key[1].label", DELETE)], ["key[1].label: required field is missing"]),
    ("missing-id", [("ceremony.id", DELETE)], ["ceremony.id: required field is missing"]),
    ("missing-user-pin", [("hsm.user_pin", DELETE)], ["hsm.user_pin: required field is missing"]),
    ("missing-kek-file", [("kek[1].file", DELETE)], ["kek[1].file: required field is missing"]),
    ("missing-size", [("key[2].size", DELETE)], ["key[2].size: required field is missing"]),
    ("empty-string", [("ceremony.purpose", " ")], ["ceremony.purpose: is empty"]),
    # wrong types
    ("size-string", [("key[1].size", "3072")],
     ["key[1].size: must be an integer, not a string"]),
    ("size-bool", [("key[1].size", True)], ["key[1].size: must be an integer, not a boolean"]),
    ("size-float", [("key[1].size", 3072.0)], ["key[1].size: must be an integer, not a float"]),
    ("workspaces-string", [("ceremony.workspaces", "ws-a")],
     ["ceremony.workspaces: must be an array of strings, not a string"]),
    ("workspace-item", [("ceremony.workspaces", ["ws-a", 2])],
     ["ceremony.workspaces[2]: must be a string, not an integer"]),
    ("section-not-a-table", [("hsm", "test")], ["hsm: must be a table ([hsm]), not a string"]),
    ("tables-not-an-array", [("participant", {"name": "Ann", "role": "administrator"})],
     ["participant: must be an array of tables ([[participant]]), not a table"]),
    ("array-item-not-a-table", [("kek", [1])], [
        "kek[1]: must be a table, not an integer",
        "key[1].kek: no [[kek]] is named 'vault' (kek names: none)",
        "key[2].kek: no [[kek]] is named 'vault' (kek names: none)",
        "key[3].kek: no [[kek]] is named 'vault' (kek names: none)",
    ]),
    # ceremony
    ("id-traversal", [("ceremony.id", "../c1")],
     ["ceremony.id: '../c1' is not 1-64 letters, digits, '.', '_' or '-', not starting with '.'"]),
    ("id-dot", [("ceremony.id", ".c1")],
     ["ceremony.id: '.c1' is not 1-64 letters, digits, '.', '_' or '-', not starting with '.'"]),
    ("id-too-long", [("ceremony.id", "c" * 65)],
     [f"ceremony.id: '{'c' * 65}' is not 1-64 letters, digits, '.', '_' or '-', not starting "
      "with '.'"]),
    ("no-workspaces", [("ceremony.workspaces", [])], ["ceremony.workspaces: is empty"]),
    ("workspace-twice", [("ceremony.workspaces", ["ws-a", "ws-b", "ws-a"])],
     ["ceremony.workspaces[3]: 'ws-a' is listed twice"]),
    ("workspace-name", [("ceremony.workspaces", ["ws-a", "ws b"])],
     ["ceremony.workspaces[2]: 'ws b' is neither a workspace name (3-64 letters, digits, '_' or "
      "'-') nor a workspace resource id (/subscriptions/<id>/resourceGroups/<group>/providers/"
      "Microsoft.Databricks/workspaces/<name>)"]),
    ("previous-record-missing", [("ceremony.previous_record", "prev.json")],
     ["ceremony.previous_record: {dir}/prev.json does not exist"]),
    ("previous-record-directory", [("ceremony.previous_record", ".")],
     ["ceremony.previous_record: {dir} is not a file"]),
    # participants
    ("participant-role", [("participant[4].role", "observer")],
     ["participant[4].role: 'observer' is not one of administrator, custodian, witness"]),
    ("participant-twice", [("participant[3].name", "Cid")],
     ["participant[3].name: 'Cid' is already the name of participant[2]"]),
    ("two-administrators", [("participant[4].role", "administrator")],
     ["participant: needs exactly one administrator, has 2 (participant[1], participant[4])"]),
    ("no-administrator", [("participant[1].role", "witness")],
     ["participant: needs exactly one administrator, has 0"]),
    ("one-custodian", [("participant[3].role", "witness")],
     ["participant: needs at least two custodians (split knowledge), has 1 (participant[2])"]),
    # hsm
    ("token-and-serial", [("hsm.serial", "1234")], ["hsm.serial: give token or serial, not both"]),
    ("no-token", [("hsm.token", DELETE)],
     ["hsm.token: required field is missing; give token (the token's label) or serial"]),
    ("serial-integer", [("hsm.token", DELETE), ("hsm.serial", 1234)],
     ["hsm.serial: must be a string, not an integer"]),
    ("wrap-policy", [("hsm.wrap_policy", "none")],
     ["hsm.wrap_policy: 'none' is not one of trusted, extractable"]),
    ("trusted-needs-so-pin", [("hsm.so_pin", DELETE)],
     ['hsm.so_pin: required when wrap_policy = "trusted": the security officer marks the KEK '
      "trusted"]),
    ("module-missing", [("hsm.module", "nope.so")], ["hsm.module: {dir}/nope.so does not exist"]),
    # PINs written into the plan
    ("user-pin-digits", [("hsm.user_pin", "123456")], [f"hsm.user_pin: {NOT_A_PIN_SOURCE_SPLIT}"]),
    ("so-pin-integer", [("hsm.so_pin", 87654321)], [f"hsm.so_pin: {NOT_A_PIN_SOURCE_SPLIT}"]),
    ("user-pin-broken-source", [("hsm.user_pin", "env:")],
     [f"hsm.user_pin: {NOT_A_PIN_SOURCE_SPLIT}"]),
    ("pin-anywhere", [("ceremony.pin", "4321")], [f"ceremony.pin: {NOT_A_SOURCE}"]),
    ("pin-in-key", [("key[2].user_pin", "hunter2")], [f"key[2].user_pin: {NOT_A_SOURCE}"]),
    ("pin-top-level", [("so_pin", 1234)], [f"so_pin: {NOT_A_SOURCE}"]),
    ("pin-list", [("hsm.pin", ["1", "2"])], [f"hsm.pin: {NOT_A_SOURCE}"]),
    ("pin-named-source-elsewhere", [("ceremony.pin", "prompt")],
     ["ceremony.pin: unknown key (allowed: id, purpose, workspaces, previous_record)"]),
    # split PINs
    ("split-one-part", [("hsm.so_pin", {"parts": [{"custodian": "Cid", "source": "prompt"}]})],
     ["hsm.so_pin.parts: has 1 part; a split PIN needs at least two, each held by a different "
      "custodian"]),
    ("split-no-parts", [("hsm.so_pin", {"parts": []})], ["hsm.so_pin.parts: is empty"]),
    ("split-unknown-key", [("hsm.so_pin", {"parts": [], "threshold": 2})], [
        "hsm.so_pin.threshold: unknown key (allowed: parts)",
        "hsm.so_pin.parts: is empty",
    ]),
    ("no-keys", [("key", [])], ["key: is empty"]),
    ("no-participants", [("participant", [])], ["participant: is empty"]),
    ("split-missing-parts", [("hsm.so_pin", {})], ["hsm.so_pin.parts: required field is missing"]),
    ("split-strangers", [("hsm.so_pin", {"parts": [
        {"custodian": "Eve", "source": "prompt"},
        {"custodian": "Wes", "source": "prompt"},
        {"custodian": "Cid", "source": "prompt"},
        {"custodian": "Cid", "source": "prompt"},
    ]})], [
        "hsm.so_pin.parts[1].custodian: 'Eve' is not a participant (participants: Ann, Cid, "
        "Cora, Wes)",
        "hsm.so_pin.parts[2].custodian: 'Wes' is a witness, not a custodian",
        "hsm.so_pin.parts[4].custodian: 'Cid' already holds hsm.so_pin.parts[3]",
    ]),
    ("split-part-pin", [("hsm.so_pin", {"parts": [
        {"custodian": "Cid", "source": "1234"}, {"custodian": "Cora", "source": "pinpad"},
    ]})], [
        f"hsm.so_pin.parts[1].source: {NOT_A_SOURCE}",
        "hsm.so_pin.parts[2].source: pinpad cannot give one part of a split PIN: the PIN pad "
        "takes the whole PIN; use prompt",
    ]),
    ("split-pin-key", [("hsm.so_pin", {"parts": [
        {"custodian": "Cid", "source": "prompt", "pin": "1234"},
        {"custodian": "Cora", "source": "prompt"},
    ]})], [f"hsm.so_pin.parts[1].pin: {NOT_A_SOURCE}"]),
    # KEKs
    ("control-characters-are-escaped", [("kek[1].file", "a\nb.pem")],
     [f"kek[1].file: contains a control character (\\n); {ONE_LINE_RULE}"]),
    ("nul-in-output-directory", [("output.directory", "out\u0000x")],
     [f"output.directory: contains a control character (\\x00); {ONE_LINE_RULE}"]),
    # One-line names: every plan string that reaches a terminal, a report or the token
    ("escape-in-participant-name", [("participant[2].name", "Cid\x1b[31m")],
     [f"participant[2].name: contains a control character (\\x1b); {ONE_LINE_RULE}"]),
    ("line-separator-in-key-label", [("key[1].label", "cmk-ms\u2028cmk-ok")],
     [f"key[1].label: contains a control character (\\u2028); {ONE_LINE_RULE}"]),
    ("bidi-override-in-purpose", [("ceremony.purpose", "keys \u202eevil")],
     [f"ceremony.purpose: contains a control character (\\u202e); {ONE_LINE_RULE}"]),
    ("c1-in-token", [("hsm.token", "test\x85")],
     [f"hsm.token: contains a control character (\\x85); {ONE_LINE_RULE}"]),
    ("del-in-ceremony-id", [("ceremony.id", "c1\x7f")],
     [f"ceremony.id: contains a control character (\\x7f); {ONE_LINE_RULE}"]),
    ("paragraph-separator-in-workspace", [("ceremony.workspaces", ["ws-a", "ws-b\u2029"])],
     [f"ceremony.workspaces[2]: contains a control character (\\u2029); {ONE_LINE_RULE}"]),
    ("tab-in-azure-name", [("key[3].azure_name", "adb\tdbfs")],
     [f"key[3].azure_name: contains a control character (\\t); {ONE_LINE_RULE}"]),
    ("newline-in-pin-source", [("hsm.user_pin", "env:USER_PIN\n")],
     [f"hsm.user_pin: {NOT_A_PIN_SOURCE_SPLIT}"]),
    ("env-pin-not-a-variable-name", [("hsm.user_pin", "env:12345678"),
                                     ("hsm.so_pin", "env:bad name")],
     [f"hsm.user_pin: {NOT_A_PIN_SOURCE_SPLIT}", f"hsm.so_pin: {NOT_A_PIN_SOURCE_SPLIT}"]),
    ("kek-file-missing", [("kek[1].file", "nope.pem")],
     ["kek[1].file: {dir}/nope.pem does not exist"]),
    ("kek-file-missing-and-kid-bad", [("kek[1].file", "nope.pem"), ("kek[1].kid", "http://x")], [
        "kek[1].file: {dir}/nope.pem does not exist",
        "kek[1].kid: KEK kid http://x is not an https URL. Copy the versioned kid that "
        "`az keyvault key show --query key.kid` prints for the KEK",
    ]),
    ("kek-kid-unversioned", [("kek[1].kid", "https://contoso-kv.vault.azure.net/keys/kek")],
     ["kek[1].kid: KEK kid https://contoso-kv.vault.azure.net/keys/kek has no key version. Give "
      "the versioned kid (it ends in /<32 hex digits>), as `az keyvault key show --query "
      "key.kid` prints it"]),
    ("kek-kid-missing", [("kek[1].kid", DELETE)],
     ["kek[1].kid: KEK file {dir}/kek.pem comes without a kid. Give the KEK's versioned kid, "
      "or the JSON that `az keyvault key show` prints"]),
    ("kek-json-missing", [("kek[1].json", "kek.json")],
     ["kek[1].json: {dir}/kek.json does not exist"]),
    ("kek-twice", [("kek", [{"name": "vault", "file": "kek.pem", "kid": KID},
                            {"name": "vault", "file": "kek.pem", "kid": HSM_KID}])],
     ["kek[2].name: 'vault' is already the name of kek[1]"]),
    ("key-kek-unknown", [("key[1].kek", "other")],
     ["key[1].kek: no [[kek]] is named 'other' (kek names: vault)"]),
    # keys
    ("key-name-twice", [("key[2].name", "ms")],
     ["key[2].name: 'ms' is already the name of key[1]"]),
    ("key-label-twice", [("key[3].label", "cmk-ms")],
     ["key[3].label: 'cmk-ms' is already the label of key[1]"]),
    ("key-label-reserved", [("key[1].label", "cmk-ceremony-signer")],
     ["key[1].label: 'cmk-ceremony-signer' starts with 'cmk-ceremony-', which the tool keeps "
      "for its own objects (the ceremony signer)"]),
    ("azure-name-twice", [("key[3].azure_name", "adb-ms")],
     ["key[3].azure_name: 'adb-ms' is already the Azure key name of key[1]"]),
    ("azure-name-invalid", [("key[1].azure_name", "adb_ms")],
     ["key[1].azure_name: 'adb_ms' is not 1-127 letters, digits and hyphens"]),
    ("key-name-path", [("key[1].name", "a/b")],
     ["key[1].name: 'a/b' is not 1-64 letters, digits, '.', '_' or '-', not starting with '.'"]),
    ("key-type", [("key[1].type", "dsa")], ["key[1].type: 'dsa' is not one of rsa, ec, aes"]),
    ("rsa-size", [("key[2].size", 1024)], ["key[2].size: 1024 is not one of 2048, 3072, 4096"]),
    ("aes-size", [("key[2].type", "aes"), ("key[2].size", 512), ("key[2].features", [])],
     ["key[2].size: 512 is not one of 128, 192, 256"]),
    ("rsa-curve", [("key[1].curve", "P-256")], ["key[1].curve: an rsa key takes size, not curve"]),
    ("ec-size", [("key[1].type", "ec"), ("key[1].curve", "P-256"), ("key[1].features", [])],
     ["key[1].size: an ec key takes curve, not size"]),
    ("ec-curve", [("key[1].type", "ec"), ("key[1].size", DELETE), ("key[1].curve", "P-224"),
                  ("key[1].features", [])],
     ["key[1].curve: 'P-224' is not one of P-256, P-384, P-521, P-256K"]),
    ("origin", [("key[1].origin", "derive")],
     ["key[1].origin: 'derive' is not one of generate, import"]),
    ("import-needs-source", [("key[1].origin", "import")], [
        "key[1].source: required field is missing",
        "key[1].unwrap_key: required field is missing",
    ]),
    ("import-source-missing", [("key[1].origin", "import"), ("key[1].source", "x.bin"),
                               ("key[1].unwrap_key", "transport")],
     ["key[1].source: {dir}/x.bin does not exist"]),
    ("generate-takes-no-source", [("key[1].source", "x.bin"), ("key[1].unwrap_key", "t")], [
        'key[1].source: only for origin = "import"',
        'key[1].unwrap_key: only for origin = "import"',
    ]),
    ("after-export", [("key[1].after_export", "shred")],
     ["key[1].after_export: 'shred' is not one of keep, destroy"]),
    # features
    ("feature-unknown", [("key[1].features", ["managed-services", "unity-catalog"])],
     [f"key[1].features[2]: unknown CMK feature 'unity-catalog' (allowed: {FEATURES})"]),
    ("feature-twice", [("key[1].features", ["managed-services", "managed-services"])],
     ["key[1].features[2]: 'managed-services' is listed twice"]),
    ("feature-ec", [("key[1].type", "ec"), ("key[1].size", DELETE), ("key[1].curve", "P-256")],
     [f"key[1].features[1]: EC P-256 cannot serve managed-services: {EC_REASON}"]),
    ("feature-aes-in-vault", [("key[1].type", "aes"), ("key[1].size", 256)], [
        "key[1].type: target AES 256 cannot be imported into Key Vault contoso-kv "
        f"({KID}); Azure accepts AES keys only in a Managed HSM. Use a Managed HSM KEK for AES "
        "targets, or an RSA or EC target for a Key Vault",
        f"key[1].features[1]: AES 256 cannot serve managed-services: {AES_REASON}",
    ]),
    ("feature-refused-claims-nothing", [
        ("key[1].type", "ec"), ("key[1].size", DELETE), ("key[1].curve", "P-256"),
        ("key[2].features", ["managed-disks", "managed-services"]),
    ], [f"key[1].features[1]: EC P-256 cannot serve managed-services: {EC_REASON}"]),
    ("feature-served-twice", [("key[3].features", ["dbfs-root", "managed-services"])],
     ["key[3].features[2]: managed-services is already served by key[1] for workspaces ws-a, "
      "ws-b; a workspace's feature takes one key"]),
    ("feature-served-twice-one-workspace", [("key[3].features", ["managed-services"]),
                                            ("key[3].workspaces", ["ws-b"])],
     ["key[3].features[1]: managed-services is already served by key[1] for workspace ws-b; a "
      "workspace's feature takes one key"]),
    ("key-workspace-unknown", [("key[1].workspaces", ["ws-a", "ws-c"])],
     ["key[1].workspaces[2]: 'ws-c' is not one of ceremony.workspaces (ws-a, ws-b)"]),
    # key_ops
    ("key-ops-not-for-type", [("key[2].key_ops", ["wrapKey", "unwrapKey", "import"])],
     ["key[2].key_ops[3]: 'import' is not allowed for an rsa key (allowed: encrypt, decrypt, "
      "sign, verify, wrapKey, unwrapKey)"]),
    ("key-ops-ec", [("key[1].type", "ec"), ("key[1].size", DELETE), ("key[1].curve", "P-256"),
                    ("key[1].features", []), ("key[1].key_ops", ["sign", "decrypt"])],
     ["key[1].key_ops[2]: 'decrypt' is not allowed for an ec key (allowed: sign, verify)"]),
    ("key-ops-feature-needs-wrap", [("key[1].key_ops", ["wrapKey", "encrypt"])],
     ["key[1].key_ops: lacks unwrapKey, which a key serving managed-services needs: Databricks "
      "wraps its data keys with it"]),
    ("key-ops-empty", [("key[1].key_ops", [])], ["key[1].key_ops: is empty"]),
    # output
    ("output-is-a-file", [("output.directory", "kek.pem")],
     ["output.directory: {dir}/kek.pem is not a directory"]),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule(tmp_path, edits, expected):
    data = base_plan()
    for path, value in edits:
        edit(data, path, value)
    expected = [line.replace("{dir}", str(tmp_path)) for line in expected]
    assert problems_of(tmp_path, data) == expected


def test_output_directory_already_holding_the_ceremony(tmp_path):
    (tmp_path / "out" / "c1").mkdir(parents=True)
    assert problems_of(tmp_path, base_plan()) == [
        f"output.directory: {tmp_path}/out/c1 already exists: ceremony c1 was run there; choose "
        "a new ceremony.id or output.directory"
    ]


def test_kek_file_failing_the_kek_rules(tmp_path):
    data = edit(base_plan(), "kek[1].file", "private.pem")
    (tmp_path / "private.pem").write_bytes(kek_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    assert problems_of(tmp_path, data) == [
        f"kek[1].file: KEK file {tmp_path}/private.pem holds a private key; a KEK file holds the "
        "vault's public key only. Remove the private key from the media; Download the KEK with "
        "`az keyvault key download --encoding PEM --file kek.pem`"
    ]


def test_kek_file_holding_an_ec_key(tmp_path):
    data = edit(base_plan(), "kek[1].file", "ec.pem")
    (tmp_path / "ec.pem").write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key()
                                      .public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo))
    assert problems_of(tmp_path, data) == [
        f"kek[1].file: KEK file {tmp_path}/ec.pem holds a non-RSA key (EC secp256r1); a KEK is "
        "RSA. Create the KEK with `az keyvault key create --kty RSA-HSM --size 4096 --ops import`"
    ]


def test_kek_json_with_a_different_kid(tmp_path):
    (tmp_path / "kek.json").write_text(kek_show_json(HSM_KID))
    data = edit(base_plan(), "kek[1].json", "kek.json")
    assert problems_of(tmp_path, data) == [
        f"kek[1].kid: KEK kid {KID} differs from {HSM_KID} in {tmp_path}/kek.json. Use the kid "
        "that `az keyvault key show` prints for the same key version"
    ]


def test_toml_syntax_error_is_one_problem_with_its_position(tmp_path):
    assert problems_of(tmp_path, '[ceremony]\nid = "x"\nid = "y"\n') == [
        "toml: Cannot overwrite a value (at line 3, column 9)"
    ]


def test_non_utf8_plan(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_bytes(b'[ceremony]\nid = "\xff"\n')
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert caught.value.problems == ("toml: the file is not UTF-8 text",)


def test_unreadable_plan_file(tmp_path):
    with pytest.raises(Exception) as caught:
        load_plan(tmp_path / "nope.toml")
    assert caught.value.line() == (
        f"ceremony: error: plan file {tmp_path}/nope.toml cannot be read (No such file or "
        "directory). Check the path of the plan file"
    )
    assert exit_code_for(caught.value) == ExitCode.BAD_INPUT


def test_every_problem_is_reported_together(tmp_path):
    data = base_plan()
    for path, value in [("ceremony.id", ".x"), ("participant[1].role", "boss"),
                        ("hsm.user_pin", "000000"), ("kek[1].file", "gone.pem"),
                        ("key[2].size", 1024), ("key[3].features", ["nope"]),
                        ("output.extra", True)]:
        edit(data, path, value)
    problems = problems_of(tmp_path, data)
    assert [p.split(":")[0] for p in problems] == [
        "hsm.user_pin",  # PIN values first
        "ceremony.id",
        "participant[1].role",
        "kek[1].file",
        "key[2].size",
        "key[3].features[1]",
        "output.extra",
    ]


def test_plan_error_lines_name_the_file_and_end_with_a_hint(tmp_path):
    data = edit(edit(base_plan(), "key[2].size", 1024), "hsm.user_pin", "123456")
    path = write_plan(tmp_path, data)
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    error = caught.value
    assert error.code == "plan-invalid" and exit_code_for(error) == ExitCode.BAD_INPUT
    assert error.line().splitlines() == [
        f"ceremony: error: {path}: hsm.user_pin: {NOT_A_PIN_SOURCE_SPLIT}",
        f"ceremony: error: {path}: key[2].size: 1024 is not one of 2048, 3072, 4096",
        f"ceremony: error: {path}: 2 problems. Fix the plan and run `ceremony plan check {path}` "
        "again; nothing was touched",
    ]
    assert "123456" not in error.line() and "123456" not in str(error)
    assert error.message == f"{path}: hsm.user_pin: {NOT_A_PIN_SOURCE_SPLIT} (and 1 more)"


def test_plan_helpers_for_the_engine(tmp_path):
    data = edit(base_plan(), "hsm.so_pin", {"parts": [
        {"custodian": "Cora", "source": "prompt"}, {"custodian": "Cid", "source": "prompt"},
    ]})
    plan = load_plan(write_plan(tmp_path, data))
    assert [p.name for p in plan.with_role("custodian")] == ["Cid", "Cora"]
    assert plan.hsm.so_pin.split and not plan.hsm.user_pin.split
    assert [part.custodian for part in plan.hsm.so_pin.parts] == ["Cora", "Cid"]  # plan order
    with pytest.raises(KeyError):
        plan.kek("other")


def test_a_file_pin_source_is_relative_to_the_plan_like_every_path(tmp_path):
    plan = edit(base_plan(), "hsm.user_pin", "file:pins/user.pin")
    loaded = load_plan(write_plan(tmp_path, plan))
    assert loaded.hsm.user_pin.source == PinSource("file", f"{tmp_path}/pins/user.pin")


def test_200000_workspaces_are_checked_in_linear_time(tmp_path):
    """Duplicate and membership checks use sets: quadratic ones took minutes here. The timing
    itself is scripts/bench-plan-scale's to show; this proves the check completes."""
    workspaces = [f"ws-{n:06d}" for n in range(200_000)]
    data = edit(base_plan(), "ceremony.workspaces", workspaces)
    edit(data, "key[1].workspaces", workspaces)
    plan = load_plan(write_plan(tmp_path, data))
    assert plan.ceremony.workspaces == plan.keys[0].workspaces == tuple(workspaces)
    (group,) = coverage_for(plan)
    assert len(group.workspaces) == 200_000
    edit(data, "ceremony.workspaces", [*workspaces, "ws-000000"])
    assert problems_of(tmp_path, data) == [
        "ceremony.workspaces[200001]: 'ws-000000' is listed twice"]


def test_a_problem_about_many_workspaces_stays_one_short_line(tmp_path):
    workspaces = [f"ws-{n:06d}" for n in range(200_000)]
    data = edit(base_plan(), "ceremony.workspaces", workspaces)
    edit(data, "key[1].workspaces", ["ws-999999"])
    assert problems_of(tmp_path, data) == [
        "key[1].workspaces[1]: 'ws-999999' is not one of ceremony.workspaces (ws-000000, "
        "ws-000001, ws-000002, ws-000003, ws-000004, ws-000005, ws-000006, ws-000007, ws-000008, "
        "ws-000009 and 199,990 more)"]
