"""`report.md`: what the ceremony did, for the people who sign the paper log and for audit.

Rendered from the record dict only (docs/record-format.md, all but `outputs`, which is filled
after this file is written), so the report can claim nothing the signed record does not hold.
Warnings come first, before anyone reads further; fingerprints are given as hex groups and PGP
words, as they are read aloud. Warnings, vault titles and coverage lists are worded by
documents/runbook.py, so both documents say them the same way.
"""

from __future__ import annotations

import json
import shlex

from ceremony.azure.kid import parse_kid
from ceremony.databricks.catalog import Catalog
from ceremony.databricks.coverage import STATUSES
from ceremony.documents.runbook import code, coverage_lines, kid_of, vault_title, warning_lines
from ceremony.readback import hex_groups, pgp_words

WRAP_POLICIES = {
    "trusted": "each key carries CKA_WRAP_WITH_TRUSTED, so only a key the security officer "
    "marked CKA_TRUSTED can wrap it",
    "extractable": "each key can be wrapped by any wrapping key (no CKA_WRAP_WITH_TRUSTED)",
}


def report_markdown(record: dict, catalog: Catalog) -> str:
    """The whole report, warnings first; it reads the same from the draft and from record.json,
    whose canonical JSON sorts every object's keys."""
    lines = [f"# Key ceremony report: {record['ceremony']['id']}", "", *warning_lines(record)]
    for section in (_summary, _participants, _token, _self_test, _keks, _keys, _coverage,
                    _signer, _verify):
        lines += section(record, catalog)
    return "\n".join(lines).rstrip("\n") + "\n"


def _summary(record: dict, catalog: Catalog) -> list[str]:
    ceremony = record["ceremony"]
    previous = record["previous_record_sha256"]
    rows = [
        ("Ceremony", code(ceremony["id"])),
        ("Purpose", ceremony["purpose"]),
        ("Workspaces", ", ".join(code(w) for w in ceremony["workspaces"])),
        ("Started", ceremony["started"]),
        ("Completed", ceremony["completed"]),
        ("Plan", f"{code(record['plan']['file'])}, SHA-256 {code(record['plan']['sha256'])}"),
        ("Tool", f"{record['tool']['name']} {record['tool']['version']} ({record['format']})"),
        ("Wrap policy", f"{record['wrap_policy']}: {WRAP_POLICIES[record['wrap_policy']]}"),
        ("Databricks facts", f"CMK catalog revision {catalog.revision}, checked "
                             f"{catalog.checked}"),
        ("Previous record", f"SHA-256 {code(previous)}" if previous else "none"),
    ]
    return table(("Field", "Value"), rows)


def _participants(record: dict, catalog: Catalog) -> list[str]:
    operator = record["operator"]
    lines = ["## Participants and acknowledgements", ""]
    if operator["scripted"]:
        lines += [
            f"**Answers were scripted** (operator: {operator['kind']}): the confirmations and "
            "acknowledgements below were taken from the plan and command-line flags, not typed "
            "by the people named. Their signatures on the paper log are what attest them.",
            "",
        ]
    else:
        lines += [f"Answers were given interactively (operator: {operator['kind']}).", ""]
    for person in record["participants"]:
        lines.append(f"- **{person['name']}** ({person['role']})")
        for ack in person["acknowledgements"]:
            how = "scripted" if ack["scripted"] else "typed"
            lines.append(f"  - {ack['time']} ({how}): {ack['statement']}")
        if not person["acknowledgements"]:
            lines.append("  - no acknowledgement in the record")
    return [*lines, ""]


def _token(record: dict, catalog: Catalog) -> list[str]:
    token = record["token"]
    rows = [
        ("Label", token["label"]),
        ("Serial", token["serial"]),
        ("Make and model", f"{token['manufacturer']} {token['model']}"),
        ("Hardware / firmware", f"{token['hardware_version']} / {token['firmware_version']}"),
        ("PKCS#11 library", f"{token['library']} {token['library_version']}"),
    ]
    return ["## Token", "", *table(("Field", "Value"), rows)]


def _self_test(record: dict, catalog: Catalog) -> list[str]:
    test = record["self_test"]
    padding = test["zero_padding"]
    lines = [
        "## Self-test",
        "",
        "Result: passed (a record is written only after the known-answer self-test passes).",
        "",
        f"- Key wrap mechanism: {test['kwp_mechanism']}",
        f"- Checked: {', '.join(test['checked'])}",
        f"- Zero padding before wrapping: {f'{padding} bytes in the test' if padding else 'none'}",
    ]
    lines += [f"- **Warning:** {warning}" for warning in test["warnings"]]
    return [*lines, ""]


def _keks(record: dict, catalog: Catalog) -> list[str]:
    lines = ["## Key-encryption keys (KEKs)", ""]
    for kek in record["keks"]:
        lines += [
            f"### {code(kek['name'])}: RSA {kek['bits']} in {vault_title(parse_kid(kek['kid']))}",
            "",
            f"kid {code(kek['kid'])}",
            "",
            "SHA-256 of the public key:",
            "",
            *fingerprint_lines(kek["fingerprint_sha256"]),
            "",
        ]
    return lines


def _keys(record: dict, catalog: Catalog) -> list[str]:
    header = ("Name", "Label", "Type", "Origin", "Fingerprint (SHA-256) or KCV", "Features",
              "Azure name", "After export", "Destroyed")
    rows = [
        (code(k["name"]), code(k["label"]), key_type(k), k["origin"], _key_digest(k),
         ", ".join(k["features"]) or "none", code(k["azure_name"]), k["after_export"],
         "yes" if k["destroyed"] else "no")
        for k in record["keys"]
    ]
    lines = ["## Keys", "", *table(header, rows)]
    for key in record["keys"]:
        lines += _key_details(record, catalog, key)
    return lines


def _key_digest(key: dict) -> str:
    if key["fingerprint_sha256"]:
        return hex_groups(bytes.fromhex(key["fingerprint_sha256"]))
    return f"KCV {key['kcv']}" if key["kcv"] else "none (the token gives no check value)"


def _key_details(record: dict, catalog: Catalog, key: dict) -> list[str]:
    features = [f"{catalog.feature(f).title} ({code(f)})" for f in key["features"]]
    attributes = ", ".join(f"{n}={_attribute(v)}" for n, v in sorted(key["attributes"].items()))
    files = (key["files"][kind] for kind in ("byok", "public_key", "az_import"))
    lines = [
        f"### {code(key['name'])}",
        "",
        f"- CKA_ID {code(key['key_id'])}, wrap policy {key['wrap_policy']}, "
        f"KEK {code(key['kek'])}",
        f"- Into {vault_title(kid_of(record, key))} as {code(key['azure_name'])}, "
        f"key operations {', '.join(key['key_ops'])}",
        f"- Serves: {'; '.join(features) or 'no Databricks feature'}",
        f"- Workspaces: {', '.join(code(w) for w in key['workspaces']) or 'none'}",
        f"- Files: {', '.join(code(path) for path in files if path)}",
        f"- Attributes: {attributes}",
    ]
    lines += [f"- **Note:** {note}" for note in key["notes"]]
    if key["fingerprint_sha256"]:
        digest = key["fingerprint_sha256"]
        lines += ["", "SHA-256 of the public key:", "", *fingerprint_lines(digest)]
    return [*lines, ""]


def _attribute(value: object) -> str:
    """JSON's spelling for booleans and None (`LOCAL=false`), the value itself otherwise."""
    return json.dumps(value) if value is None or isinstance(value, bool) else str(value)


def _coverage(record: dict, catalog: Catalog) -> list[str]:
    lines = ["## Coverage", ""]
    for group in record["coverage"]:
        assignments = group["assignments"]
        keys = ", ".join(f"{feature} = {code(assignments[feature])}"
                         for feature in catalog.feature_ids if feature in assignments)
        lines += [f"Catalog revision {group['catalog_revision']}. Keys: {keys or 'none'}.", ""]
        lines += coverage_lines(group, STATUSES)
    return lines


def _signer(record: dict, catalog: Catalog) -> list[str]:
    signer = record["signer"]
    made = "made in this ceremony" if signer["created_in_this_ceremony"] else "already on the token"
    return [
        "## Record signer",
        "",
        f"{signer['algorithm']} key {code(signer['label'])} (CKA_ID {code(signer['key_id'])}), "
        f"{made}. SHA-256 of its public key (`signer.pub.pem`, DER):",
        "",
        *fingerprint_lines(signer["fingerprint_sha256"]),
        "",
    ]


def _verify(record: dict, catalog: Catalog) -> list[str]:
    directory = shlex.quote(record["ceremony"]["id"])
    return [
        "## How to verify",
        "",
        "In the ceremony directory, without this tool: check the signature, compare the "
        "signer's fingerprint with the one above and in the paper log, and compare each file's "
        "SHA-256 with `outputs` in record.json.",
        "",
        "```sh",
        "openssl dgst -sha384 -verify signer.pub.pem -signature record.json.sig record.json",
        "openssl pkey -pubin -in signer.pub.pem -outform DER | sha256sum",
        "sha256sum plan.toml keys/* runbook.md report.md",
        "```",
        "",
        "With this tool (all of the above, plus the hash chain of `journal.jsonl`), from the "
        "directory that holds the ceremony directory:",
        "",
        "```sh",
        f"ceremony verify {directory}",
        "```",
    ]


def fingerprint_lines(hex_digest: str) -> list[str]:
    """A SHA-256 fingerprint as hex groups of 4 and as PGP words, for the paper log."""
    data = bytes.fromhex(hex_digest)
    return [f"`{hex_groups(data)}`", "", f"PGP words: {' '.join(pgp_words(data))}"]


def table(header: tuple[str, ...], rows: list[tuple]) -> list[str]:
    """A Markdown table; pipes in values are escaped."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in rows]
    return [*lines, ""]


def key_type(key: dict) -> str:
    """`RSA 3072`, `EC P-256`, `AES 256`."""
    if key["type"] == "ec":
        return f"EC {key['curve']}"
    return f"{key['type'].upper()} {key['size']}"
