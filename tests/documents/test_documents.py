"""runbook.md and report.md rendered from a record: exact commands, named identities, gaps.

The records are built here the way the engine builds them (docs/record-format.md): import
commands from `az_import_command`, coverage from the catalog. Commands are checked letter for
letter; prose only for the facts it must carry.
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from ceremony.azure.az_commands import az_cloud_command, az_import_command
from ceremony.azure.kid import parse_kid
from ceremony.databricks.catalog import load_catalog
from ceremony.databricks.coverage import coverage
from ceremony.documents.report import report_markdown
from ceremony.documents.runbook import runbook_markdown
from ceremony.hsm.types import ZERO_PADDING_WARNING
from ceremony.keyspec import KeySpec
from ceremony.plan.coverage import WorkspaceCoverage
from ceremony.readback import hex_groups, pgp_words

VERSION = "f9159784b0331c284decddb3bf318541"
VAULT_KID = f"https://contoso-cmk-kv.vault.azure.net/keys/ceremony-kek/{VERSION}"
GOV_HSM_KID = f"https://contoso-hsm.managedhsm.usgovcloudapi.net/keys/ceremony-kek/{VERSION}"
WS_NAME = "adb-analytics-prod"
WS_ID = (
    "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-ml/providers/"
    "Microsoft.Databricks/workspaces/adb-ml-prod"
)
KEYS = (  # name, bits, feature, Azure name
    ("managed-services", 3072, "managed-services", "adb-managed-services"),
    ("managed-disks", 4096, "managed-disks", "adb-managed-disks"),
    ("dbfs-root", 3072, "dbfs-root", "adb-dbfs-root"),
)
IMPORT_NOTE = "imported keys show LOCAL=false and ALWAYS_SENSITIVE=false: not generated here"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_key(name: str, bits: int, feature: str, azure_name: str, kid: str) -> dict:
    parsed = parse_kid(kid)
    command = az_import_command(parsed, azure_name, KeySpec("rsa", bits), f"{name}.byok")
    if parsed.cloud != "public":  # as export.az_commands writes it
        command = f"{az_cloud_command(parsed)}\n{command}"
    return {
        "name": name, "label": f"cmk-{name}", "key_id": digest(name)[:16], "type": "rsa",
        "size": bits, "curve": None, "origin": "generate", "fingerprint_sha256": digest(name),
        "kcv": None,
        "attributes": {"CLASS": "PRIVATE_KEY", "LOCAL": True, "SENSITIVE": True,
                       "ALWAYS_SENSITIVE": True, "EXTRACTABLE": True},
        "wrap_policy": "trusted", "kek": "cmk-kek", "azure_name": azure_name,
        "key_ops": ["wrapKey", "unwrapKey"], "features": [feature],
        "workspaces": [WS_NAME, WS_ID], "after_export": "keep", "destroyed": False,
        "files": {"byok": f"keys/{name}.byok", "public_key": f"keys/{name}.pub.pem",
                  "az_import": f"keys/{name}.az-import.txt"},
        "az_import_command": command, "notes": [],
    }


def make_record(kid: str = VAULT_KID, scripted: bool = True) -> dict:
    parsed = parse_kid(kid)
    keys = [make_key(*spec, kid) for spec in KEYS]
    assignments = {key["features"][0]: key["name"] for key in keys}
    ack = {"statement": "I saw every fingerprint read back", "time": "2026-11-28T10:20:00.000Z",
           "scripted": scripted}
    return {
        "format": "cmk-ceremony-record/1",
        "tool": {"name": "cmk-ceremony", "version": "0.1.0"},
        "ceremony": {"id": "2026-q4-databricks-cmk",
                     "purpose": "Customer-managed keys for the analytics and ML workspaces",
                     "workspaces": [WS_NAME, WS_ID],
                     "started": "2026-11-28T10:00:00.000Z",
                     "completed": "2026-11-28T10:30:00.000Z"},
        "plan": {"file": "plan.toml", "sha256": digest("plan")},
        "operator": {"kind": "scripted" if scripted else "tty", "scripted": scripted},
        "participants": [
            {"name": "Alice Administrator", "role": "administrator", "acknowledgements": [ack]},
            {"name": "Carol Custodian", "role": "custodian", "acknowledgements": [ack]},
            {"name": "Dave Custodian", "role": "custodian", "acknowledgements": []},
            {"name": "Wendy Witness", "role": "witness", "acknowledgements": [ack]},
        ],
        "token": {"label": "rehearsal", "serial": "5e4f3a2b1c0d9e8f",
                  "manufacturer": "SoftHSM project", "model": "SoftHSM v2",
                  "hardware_version": "2.6", "firmware_version": "2.6",
                  "library": "/usr/lib/softhsm/libsofthsm2.so", "library_version": "2.6",
                  "user_pin": "SENTINEL-NOT-SHOWN"},
        "self_test": {"kwp_mechanism": "AES_KEY_WRAP_PAD", "zero_padding": 0,
                      "checked": ["AES-256 raw", "EC P-256 PKCS#8"], "warnings": []},
        "wrap_policy": "trusted",
        "keks": [{"name": "cmk-kek", "kid": kid, "vault_kind": parsed.vault_kind,
                  "vault_name": parsed.vault_name, "cloud": parsed.cloud, "bits": 4096,
                  "fingerprint_sha256": digest("kek")}],
        "keys": keys,
        "coverage": coverage_json(assignments),
        "signer": {"label": "cmk-ceremony-signer", "key_id": "51", "algorithm":
                   "ECDSA P-384 SHA-384", "fingerprint_sha256": digest("signer"),
                   "created_in_this_ceremony": False},
        "previous_record_sha256": None,
    }


def coverage_json(assignments: dict[str, str]) -> list[dict]:
    """As the record builder writes it: one report for the workspaces sharing the keys."""
    report = coverage(load_catalog(), assignments)
    return [WorkspaceCoverage((WS_NAME, WS_ID), report).to_json()]


def rehearsal_record() -> dict:
    """SoftHSM's zero padding, and the dbfs-root key imported rather than generated."""
    record = make_record()
    record["self_test"]["zero_padding"] = 5
    record["self_test"]["warnings"] = [ZERO_PADDING_WARNING]
    key = record["keys"][2]
    key["origin"] = "import"
    key["attributes"].update(LOCAL=False, ALWAYS_SENSITIVE=False)
    key["notes"] = [IMPORT_NOTE]
    return record


def commands(markdown: str) -> list[str]:
    """Every line inside a fenced sh block."""
    blocks = re.findall(r"^```sh\n(.*?)^```$", markdown, re.M | re.S)
    return [line for block in blocks for line in block.splitlines()]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


# ---------------------------------------------------------------------------- runbook


def test_runbook_imports_each_key_then_reads_its_version(catalog):
    runbook = runbook_markdown(make_record(), catalog)
    lines = commands(runbook)
    for name, _, _, azure_name in KEYS:
        imported = (f"az keyvault key import --vault-name contoso-cmk-kv --name {azure_name} "
                    f"--kty RSA --byok-file {name}.byok")
        shown = (f"az keyvault key show --vault-name contoso-cmk-kv --name {azure_name} "
                 "--query key.kid -o tsv")
        assert lines.index(imported) + 1 == lines.index(shown)
        assert (f"Copy `keys/{name}.byok` from the ceremony directory to `{name}.byok` "
                "in the directory you run `az` from") in runbook
    assert not any(line.startswith("az cloud set") for line in lines)


def test_runbook_points_each_workspace_at_its_keys(catalog):
    lines = commands(runbook_markdown(make_record(), catalog))
    uri = "https://contoso-cmk-kv.vault.azure.net/"
    for where in (f"--resource-group <resource-group> --name {WS_NAME}", f"--ids {WS_ID}"):
        update = f"az databricks workspace update {where}"
        assert f"{update} --managed-services-key-source Microsoft.Keyvault " \
            f"--managed-services-key-name adb-managed-services --managed-services-key-vault " \
            f"{uri} --managed-services-key-version <key-version>" in lines
        assert f"{update} --disk-key-source Microsoft.Keyvault --disk-key-name " \
            f"adb-managed-disks --disk-key-vault {uri} --disk-key-version <key-version> " \
            "--disk-key-auto-rotation true" in lines
        assert f"{update} --key-source Microsoft.Keyvault --key-name adb-dbfs-root " \
            f"--key-vault {uri} --key-version <key-version>" in lines
    assert len(lines) == 2 * len(KEYS) + 2 * 3


def test_runbook_update_flags_come_from_the_catalog(catalog):
    lines = commands(runbook_markdown(make_record(), catalog))
    updates = [line for line in lines if line.startswith("az databricks workspace update")]
    for feature in catalog.features:
        names = {flag.split()[0] for flag in feature.az.flags}
        assert sum(names <= set(line.split()) for line in updates) == 2  # one per workspace


def test_runbook_names_every_command_once(catalog):
    lines = commands(runbook_markdown(make_record(), catalog))
    assert len(lines) == len(set(lines))


def test_runbook_vault_rules_identities_and_prerequisites(catalog):
    runbook = runbook_markdown(make_record(), catalog)
    for setting in ("soft delete on", "purge protection on",
                    "same Microsoft Entra tenant as the workspace"):
        assert f"- {setting}\n" in runbook
    assert "Azure Key Vault Premium vault (BYOK keys are HSM-protected) or " \
        "Azure Key Vault Managed HSM" in runbook
    assert "Every workspace needs the Premium plan." in runbook
    for feature in catalog.features:
        assert runbook.count(f"- Identity: {feature.identity.name}. It needs Get, WrapKey, "
                             "UnwrapKey on key") == 2
    assert "AzureDatabricks enterprise application (Entra app ID " \
        "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d)" in runbook
    assert runbook.count("--prepare-encryption first") == 2


def test_runbook_order(catalog):
    runbook = runbook_markdown(make_record(), catalog)
    headings = re.findall(r"^## (.*)$", runbook, re.M)
    assert headings == ["1. Check the vaults", "2. Import the keys",
                        "3. Point the workspaces at the keys", "4. Rotation and caveats",
                        "5. What these keys do not protect"]


def test_runbook_rotation_caveats_and_gaps(catalog):
    runbook = runbook_markdown(make_record(), catalog)
    assert "Keep the old key version enabled and reachable for 24 hours" in runbook
    assert "With --disk-key-auto-rotation the workspace follows the latest key version" in runbook
    assert "Not supported for FedRAMP-compliant workspaces." in runbook
    for item in catalog.not_coverable:
        assert f"{item.name} (`{item.id}`), {item.location.label}: {item.reason}." in runbook
    assert "Not covered: no key assigned to the feature that would cover it (0)" in runbook


def test_runbook_lists_what_a_missing_feature_leaves_uncovered(catalog):
    record = make_record()
    record["keys"] = record["keys"][:1]
    record["coverage"] = coverage_json({"managed-services": "managed-services"})
    runbook = runbook_markdown(record, catalog)
    assert "Temporary data on the managed data disks of classic compute " \
        "(`classic-compute-data-disks`), classic compute data disks: " \
        "No key serves managed-disks." in runbook
    assert "az databricks workspace update" in runbook
    assert "--disk-key-source" not in runbook


def test_runbook_managed_hsm_in_usgov(catalog):
    runbook = runbook_markdown(make_record(GOV_HSM_KID), catalog)
    lines = commands(runbook)
    assert lines[0] == "az cloud set --name AzureUSGovernment"
    assert lines.count("az cloud set --name AzureUSGovernment") == 1
    assert lines[1] == ("az keyvault key import --hsm-name contoso-hsm --name adb-managed-services "
                        "--kty RSA --byok-file managed-services.byok")
    assert lines[2] == ("az keyvault key show --hsm-name contoso-hsm --name adb-managed-services "
                        "--query key.kid -o tsv")
    assert (f"az databricks workspace update --ids {WS_ID} --key-source Microsoft.Keyvault "
            "--key-name adb-dbfs-root --key-vault https://contoso-hsm.managedhsm.usgovcloudapi.net/"
            " --key-version <key-version>") in lines
    assert "### Managed HSM `contoso-hsm` (usgov cloud)" in runbook
    assert "## 2. Select the Azure cloud" in runbook


def test_runbook_warns_a_rehearsal(catalog):
    runbook = runbook_markdown(rehearsal_record(), catalog)
    first_section = runbook.index("## 1.")
    assert runbook.index("> **WARNING:** Rehearsal only.") < first_section
    assert f"> **WARNING:** {ZERO_PADDING_WARNING}" in runbook


# ---------------------------------------------------------------------------- report


def test_report_header_and_participants(catalog):
    report = report_markdown(make_record(), catalog)
    assert report.startswith("# Key ceremony report: 2026-q4-databricks-cmk\n")
    for text in ("Customer-managed keys for the analytics and ML workspaces", f"`{WS_ID}`",
                 "2026-11-28T10:00:00.000Z", "2026-11-28T10:30:00.000Z", "rehearsal",
                 "5e4f3a2b1c0d9e8f", "SoftHSM project SoftHSM v2", "AES_KEY_WRAP_PAD",
                 "Result: passed", "trusted: each key carries CKA_WRAP_WITH_TRUSTED"):
        assert text in report
    assert "**Answers were scripted** (operator: scripted)" in report
    assert "- **Wendy Witness** (witness)" in report
    assert "- **Dave Custodian** (custodian)\n  - no acknowledgement in the record" in report
    assert report.count("(scripted): I saw every fingerprint read back") == 3


def test_report_interactive_answers(catalog):
    report = report_markdown(make_record(scripted=False), catalog)
    assert "Answers were scripted" not in report
    assert "Answers were given interactively (operator: tty)." in report
    assert report.count("(typed): I saw every fingerprint read back") == 3


def test_report_fingerprints_in_hex_groups_and_pgp_words(catalog):
    record = make_record()
    report = report_markdown(record, catalog)
    for value in (digest("kek"), digest("signer"), digest("managed-disks")):
        data = bytes.fromhex(value)
        assert f"`{hex_groups(data)}`\n\nPGP words: {' '.join(pgp_words(data))}" in report
    assert f"kid `{VAULT_KID}`" in report
    assert "RSA 4096 in Key Vault `contoso-cmk-kv` (public cloud)" in report


def test_report_keys_table(catalog):
    report = report_markdown(make_record(), catalog)
    row = (f"| `managed-disks` | `cmk-managed-disks` | RSA 4096 | generate | "
           f"{hex_groups(bytes.fromhex(digest('managed-disks')))} | managed-disks | "
           "`adb-managed-disks` | keep | no |")
    assert row in report
    assert "Customer-managed keys for Azure managed disks (`managed-disks`)" in report


def test_report_coverage_grouped(catalog):
    report = report_markdown(make_record(), catalog)
    covered = report.index("**Covered (16)**")
    missing = report.index("**Not covered: no key assigned to the feature that would cover it (0)")
    never = report.index("**Not coverable by any customer-managed key (6)**")
    assert covered < missing < never
    assert "Secrets stored through the secret manager APIs (`secrets`), control plane: " \
        "key `managed-services` via `managed-services`." in report
    for item in catalog.not_coverable:
        assert item.reason in report[never:]


def test_report_rehearsal_warnings_and_imported_key(catalog):
    report = report_markdown(rehearsal_record(), catalog)
    assert report.index("> **WARNING:** Rehearsal only.") < report.index("| Field | Value |")
    assert "do not import these packages into a production vault" in report
    assert f"> **WARNING:** {ZERO_PADDING_WARNING}" in report
    assert f"- **Warning:** {ZERO_PADDING_WARNING}" in report
    assert "Zero padding before wrapping: 5 bytes in the test" in report
    assert f"- **Note:** {IMPORT_NOTE}" in report
    assert "LOCAL=false" in report and "ALWAYS_SENSITIVE=false" in report
    assert "| `dbfs-root` | `cmk-dbfs-root` | RSA 3072 | import |" in report


def test_report_kcv_for_an_aes_key(catalog):
    record = make_record(GOV_HSM_KID)
    record["keys"][0].update(type="aes", size=256, fingerprint_sha256=None, kcv="1a2b3c")
    record["keys"][0]["attributes"].update(CLASS="SECRET_KEY", VERIFY=None)
    record["keys"][1].update(type="aes", size=128, fingerprint_sha256=None, kcv=None)
    report = report_markdown(record, catalog)
    assert "| AES 256 | generate | KCV 1a2b3c |" in report
    assert "| AES 128 | generate | none (the token gives no check value) |" in report
    assert "CLASS=SECRET_KEY, EXTRACTABLE=true, LOCAL=true, SENSITIVE=true, VERIFY=null" \
        in report


@pytest.mark.parametrize("render", [runbook_markdown, report_markdown])
def test_same_text_from_canonical_json(render, catalog):
    """record.json sorts every object's keys; the documents must not depend on key order."""
    record = rehearsal_record()
    assert render(json.loads(json.dumps(record, sort_keys=True)), catalog) == \
        render(record, catalog)


def test_report_how_to_verify(catalog):
    report = report_markdown(make_record(), catalog)
    lines = commands(report)
    assert "openssl dgst -sha384 -verify signer.pub.pem -signature record.json.sig record.json" \
        in lines
    assert "ceremony verify 2026-q4-databricks-cmk" in lines


@pytest.mark.parametrize("render", [runbook_markdown, report_markdown])
@pytest.mark.parametrize("make", [make_record, rehearsal_record])
def test_no_pin_anywhere(render, make, catalog):
    text = render(make(), catalog)
    assert "SENTINEL-NOT-SHOWN" not in text
    assert not re.search(r"\bpin\b|user_pin|so_pin", text, re.I)


def test_runbook_vaults_in_two_clouds(catalog):
    record = make_record()
    gov = make_key("gov-disks", 4096, "managed-disks", "gov-disks", GOV_HSM_KID)
    gov.update(kek="gov-kek", workspaces=[])
    record["keys"].append(gov)
    record["keks"].append({**record["keks"][0], "name": "gov-kek", "kid": GOV_HSM_KID})
    lines = commands(runbook_markdown(record, catalog))
    assert lines[:2] == ["az cloud set --name AzureCloud", "az cloud set --name AzureUSGovernment"]
    assert "az keyvault key import --hsm-name contoso-hsm --name gov-disks --kty RSA " \
        "--byok-file gov-disks.byok" in lines
