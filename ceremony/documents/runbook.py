"""`runbook.md`: the online steps after a ceremony, for the person at the Azure workstation.

The runbook is the one place where the ceremony's output turns into changes in Azure, so it
is rendered from the signed record (the exact import commands, the vaults named by the KEKs'
kids) and from the CMK catalog (vault rules, identities, `az databricks` flags, rotation and
caveats), never from facts typed here. Each command appears once, in order, in its own fenced
block; a command that needs a value the ceremony cannot know holds a `<placeholder>`.

The record lookups and Markdown forms report.md needs too (warnings, vault titles, coverage
lists) live at the end of this module, so the two documents word them the same way.
"""

from __future__ import annotations

import shlex

from ceremony.azure.az_commands import az_cloud_command, az_key_show_command
from ceremony.azure.kid import Kid, parse_kid
from ceremony.databricks.catalog import Catalog, Feature
from ceremony.databricks.render import STATUS_HEADINGS

KEY_VERSION = "<key-version>"
RESOURCE_GROUP = "<resource-group>"
GAPS = ("not-covered", "not-coverable")


def runbook_markdown(record: dict, catalog: Catalog) -> str:
    """The whole runbook; sections are numbered in the order they must be done."""
    sections = [
        ("Check the vaults", _vaults(record, catalog)),
        ("Select the Azure cloud", _clouds(record)),
        ("Import the keys", _imports(record)),
        ("Point the workspaces at the keys", _workspaces(record, catalog)),
        ("Rotation and caveats", _rotation(record, catalog)),
        ("What these keys do not protect", _gaps(record)),
    ]
    lines = _intro(record, catalog)
    number = 0
    for title, body in sections:
        if body:
            number += 1
            lines += [f"## {number}. {title}", "", *body]
    return "\n".join(lines).rstrip("\n") + "\n"


def _intro(record: dict, catalog: Catalog) -> list[str]:
    ceremony = record["ceremony"]
    return [
        f"# Runbook: {ceremony['id']}",
        "",
        f"The online steps after key ceremony {code(ceremony['id'])} "
        f"({ceremony['purpose']}), completed {ceremony['completed']}.",
        "",
        "Work through the sections in order, signed in with `az login` (the `databricks` "
        "extension installed). Run each command once: every one appears here exactly once. "
        f"Replace each `<placeholder>` ({code(KEY_VERSION)}, {code(RESOURCE_GROUP)}) before "
        "running the command that holds it. Verify the ceremony directory first (report.md, "
        '"How to verify").',
        "",
        f"Databricks facts: CMK catalog revision {catalog.revision}, checked {catalog.checked}.",
        "",
        *warning_lines(record),
    ]


def _vaults(record: dict, catalog: Catalog) -> list[str]:
    lines: list[str] = []
    for kek in record["keks"]:
        keys = [key for key in record["keys"] if key["kek"] == kek["name"]]
        if not keys:
            continue
        kid = parse_kid(kek["kid"])
        names = ", ".join(code(key["azure_name"]) for key in keys)
        lines += [f"### {vault_title(kid)}", "", f"URI {vault_uri(kid)}; keys {names}.", ""]
        rules = dict.fromkeys(catalog.feature(f).key_rules for key in keys for f in key["features"])
        for rule in rules:
            lines.append(f"For Azure Databricks the vault must be: {' or '.join(rule.vaults)}.")
            lines += ["", *[f"- {setting}" for setting in rule.vault_settings], ""]
    return lines


def _clouds(record: dict) -> list[str]:
    """`az cloud set` for each cloud the vaults are in; nothing when all are public."""
    by_cloud: dict[str, list[Kid]] = {}
    for key in record["keys"]:
        kid = kid_of(record, key)
        vaults = by_cloud.setdefault(kid.cloud, [])
        if kid not in vaults:
            vaults.append(kid)
    if list(by_cloud) == ["public"]:
        return []
    lines: list[str] = []
    for kids in by_cloud.values():
        names = ", ".join(code(kid.vault_name) for kid in kids)
        lines += [f"Before the steps for {names} and the workspaces their keys serve:", ""]
        lines += sh(az_cloud_command(kids[0]))
    return lines


def _imports(record: dict) -> list[str]:
    # Off the public cloud the record's command starts with `az cloud set` (export.py writes
    # both lines to the .az-import.txt file); the cloud section already runs it, once.
    clouds = {az_cloud_command(kid_of(record, key)) for key in record["keys"]}
    lines: list[str] = []
    for key in record["keys"]:
        kid = kid_of(record, key)
        imports = [c for c in key["az_import_command"].splitlines() if c not in clouds]
        args = shlex.split(imports[-1])
        target = args[args.index("--byok-file") + 1]
        lines += [
            f"### {code(key['name'])} into {vault_title(kid)} as {code(key['azure_name'])}",
            "",
            f"Copy {code(key['files']['byok'])} from the ceremony directory to {code(target)} "
            "in the directory you run `az` from, then import it:",
            "",
            *sh(*imports),
            f"Record the new key version: the last part of the kid this prints is "
            f"{code(KEY_VERSION)} for {code(key['azure_name'])}. Write it in the paper log.",
            "",
            *sh(az_key_show_command(kid, key["azure_name"])),
        ]
    return lines


def _workspaces(record: dict, catalog: Catalog) -> list[str]:
    lines: list[str] = []
    for workspace in record["ceremony"]["workspaces"]:
        steps: list[str] = []
        for feature in catalog.features:
            key = _serving(record, workspace, feature.id)
            if key is not None:
                steps += _feature_steps(record, workspace, feature, key)
        if steps:
            lines += [f"### Workspace {code(workspace)}", "", *steps]
    if lines:
        lines = [f"Every workspace needs the {catalog.plan}.", "", *lines]
    return lines


def _serving(record: dict, workspace: str, feature_id: str) -> dict | None:
    return next(
        (k for k in record["keys"] if workspace in k["workspaces"] and feature_id in k["features"]),
        None,
    )


def _feature_steps(record: dict, workspace: str, feature: Feature, key: dict) -> list[str]:
    kid = kid_of(record, key)
    identity = feature.identity
    return [
        f"#### {feature.id}: {feature.title}",
        "",
        f"Key {code(key['azure_name'])} in {vault_title(kid)}.",
        "",
        f"- Identity: {identity.name}. It needs {', '.join(identity.permissions)} on key "
        f"{code(key['azure_name'])}. {identity.find}",
        *[f"- {prerequisite}" for prerequisite in feature.prerequisites],
        f"- The command ({code(KEY_VERSION)}: the version of {code(key['azure_name'])} "
        "recorded at its import):",
        "",
        *sh(_update_command(workspace, feature, key["azure_name"], vault_uri(kid))),
    ]


def _update_command(workspace: str, feature: Feature, key_name: str, uri: str) -> str:
    """`az databricks workspace update` with the catalog's flags for `feature`, filled in."""
    command = next(c for c in feature.az.commands if c.endswith(" update"))
    values = {"<key name>": shlex.quote(key_name), "<vault URI>": shlex.quote(uri),
              "<key version>": KEY_VERSION}
    flags = []
    for flag in feature.az.flags:
        name, _, value = flag.partition(" ")
        flags += [name, values.get(value, value)]
    return " ".join([command, *_workspace_selector(workspace), *filter(None, flags)])


def _workspace_selector(workspace: str) -> list[str]:
    """`--ids` for an Azure resource id, else the name with a resource-group placeholder."""
    if workspace.lower().startswith("/subscriptions/"):
        return ["--ids", shlex.quote(workspace)]
    return ["--resource-group", RESOURCE_GROUP, "--name", shlex.quote(workspace)]


def _rotation(record: dict, catalog: Catalog) -> list[str]:
    served = {feature for key in record["keys"] for feature in key["features"]}
    lines: list[str] = []
    for feature in catalog.features:
        if feature.id in served:
            lines += [f"### {feature.id}", "", f"Rotation: {feature.rotation}", ""]
            lines += [f"- {note}" for note in (*feature.key_notes, *feature.caveats)]
            lines += ["", "Sources: " + ", ".join(feature.sources), ""]
    return lines


def _gaps(record: dict) -> list[str]:
    lines: list[str] = []
    for group in record["coverage"]:  # one report per group of workspaces sharing keys
        lines += coverage_lines(group, GAPS)
    return lines


def vault_uri(kid: Kid) -> str:
    """The vault URI Databricks takes (`https://<vault>.<suffix>/`), from a kid in that vault."""
    return f"https://{kid.host}/"


# ---------------------------------------------------------------- shared with report.md


def kid_of(record: dict, key: dict) -> Kid:
    """The parsed kid of the KEK that wrapped `key`: its vault is where the key goes."""
    return parse_kid(next(kek["kid"] for kek in record["keks"] if kek["name"] == key["kek"]))


def vault_title(kid: Kid) -> str:
    kind = "Key Vault" if kid.vault_kind == "vault" else "Managed HSM"
    return f"{kind} {code(kid.vault_name)} ({kid.cloud} cloud)"


def warning_lines(record: dict) -> list[str]:
    """Every self-test warning as a block quote, led by what zero padding means here."""
    self_test = record["self_test"]
    found = list(self_test["warnings"])
    if self_test["zero_padding"]:
        found.insert(0, (
            "Rehearsal only. The self-test found that this token pads a key with zero bytes "
            f"before wrapping ({self_test['zero_padding']} in the test, as SoftHSM 2.6.1 "
            "does), so the packages can carry trailing zeros after the PKCS#8 key. Azure's "
            "tolerance of them is unknown: do not import these packages into a production vault."
        ))
    return [line for text in found for line in (f"> **WARNING:** {text}", "")]


def coverage_lines(group: dict, statuses: tuple[str, ...]) -> list[str]:
    """One coverage group as Markdown: a heading per status, a bullet per data type."""
    lines = [f"Workspaces: {', '.join(code(w) for w in group['workspaces'])}", ""]
    for status in statuses:
        entries = [e for e in group["data_types"] if e["status"] == status]
        lines += [f"**{STATUS_HEADINGS[status]} ({len(entries)})**", ""]
        lines += [_coverage_entry(entry) for entry in entries] or ["- none"]
        lines.append("")
    return lines


def _coverage_entry(entry: dict) -> str:
    if entry["status"] == "covered":
        detail = f"key {code(entry['key'])} via {code(entry['feature'])}"
    else:
        detail = entry["reason"]
    notes = "".join(f" {note}" for note in entry["notes"])
    return f"- {entry['name']} ({code(entry['data_type'])}), {entry['location']}: {detail}.{notes}"


def sh(*commands: str) -> list[str]:
    """A fenced `sh` block."""
    return ["```sh", *commands, "```", ""]


def code(text: str) -> str:
    return f"`{text}`"
