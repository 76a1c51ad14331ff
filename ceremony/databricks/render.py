"""Plain-text and JSON views of the CMK catalog and of coverage reports.

Rendering is kept out of the catalog and coverage modules so the facts have one shape and the
front ends several. Plain text only (no rich): the headless CLI prints these on stdout, where
they must read well in a 100-column terminal and in a file. URLs and flags are never broken,
so a line holding only a long URL may run past 100 columns.
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict

from ceremony.databricks.catalog import Catalog, DataType, Feature
from ceremony.databricks.coverage import STATUSES, CoverageEntry, CoverageReport

WIDTH = 100
LABEL = 14  # width of the field-name column, after a two-space indent

STATUS_HEADINGS = {
    "covered": "Covered",
    "not-covered": "Not covered: no key assigned to the feature that would cover it",
    "not-coverable": "Not coverable by any customer-managed key",
}


def catalog_table(catalog: Catalog) -> str:
    """The whole catalog as text: each feature, then what no key covers, then sources."""
    lines = [
        f"Azure Databricks customer-managed keys (catalog revision {catalog.revision}, "
        f"checked {catalog.checked})",
        f"Every feature needs the {catalog.plan}.",
    ]
    for feature in catalog.features:
        lines += ["", *_feature_lines(feature)]
    lines += ["", "Not coverable by any customer-managed key"]
    for item in catalog.not_coverable:
        lines += _wrap(f"{item.name} [{item.id}]", "  ", hang=4)
        lines += _wrap(f"{_cap(item.location.label)}. {item.reason}.", "      ")
        lines.append(f"      Source: {item.source}")
    lines += ["", "az flags and ARM properties checked against:"]
    lines += [f"  {url}" for url in catalog.tooling_sources]
    return "\n".join(lines) + "\n"


def catalog_json(catalog: Catalog) -> dict:
    """The whole catalog as a plain dict (tuples become lists when serialised)."""
    return asdict(catalog)


def coverage_table(report: CoverageReport) -> str:
    """Every data type grouped by status, with its key, feature or reason."""
    keys = ", ".join(f"{feature} = {key}" for feature, key in report.assignments)
    lines = [f"Azure Databricks CMK coverage (catalog revision {report.catalog_revision})"]
    lines += _wrap(f"Keys: {keys or 'none assigned'}", "", hang=6)
    for status in STATUSES:
        entries = report.with_status(status)
        lines += ["", f"{STATUS_HEADINGS[status]} ({len(entries)})"]
        for entry in entries:
            lines += _wrap(f"{entry.name} [{entry.data_type}]", "  ", hang=4)
            lines += _wrap(coverage_detail(entry), "      ")
    return "\n".join(lines) + "\n"


def coverage_detail(entry: CoverageEntry) -> str:
    detail = f"Key {entry.key} via {entry.feature}" if entry.status == "covered" else entry.reason
    return " ".join((f"{_cap(entry.location)}. {detail}.", *entry.notes))


def _feature_lines(feature: Feature) -> list[str]:
    rules = feature.key_rules
    sizes = ", ".join(str(size) for size in rules.rsa_sizes)
    refused = [f"Refused {r.kind.upper()}: {r.reason}." for r in rules.refused]
    identity = f"{feature.identity.name} needs {', '.join(feature.identity.permissions)}."
    flags = [f"  {flag}" for flag in feature.az.flags]
    lines = [f"{feature.id}: {feature.title}"]
    lines += _field("What it is", [feature.summary])
    lines += _field("Protects", [_data_type_line(dt) for dt in feature.data_types])
    lines += _field("Keys", [f"RSA {sizes}. {rules.why}.", *refused, *feature.key_notes])
    settings = "; ".join(rules.vault_settings)
    lines += _field("Vault", [" or ".join(rules.vaults) + ".", f"Needs: {settings}."])
    lines += _field("Identity", [identity, feature.identity.find])
    lines += _field("az", [" | ".join(feature.az.commands), *flags, feature.az.note])
    lines += _field("ARM", [feature.arm.path, "  " + ", ".join(feature.arm.fields)])
    lines += _field("Rotation", [feature.rotation])
    lines += _field("Before", list(feature.prerequisites))
    lines += _field("Caveats", [f"- {caveat}" for caveat in feature.caveats])
    lines.append("  Sources")
    lines += [f"    {url}" for url in feature.sources]
    return lines


def _data_type_line(data_type: DataType) -> str:
    text = f"- {data_type.name} [{data_type.id}], {data_type.location.label}."
    return " ".join((text, *data_type.notes))


def _field(label: str, values: list[str]) -> list[str]:
    """`label` in the left column; each non-empty value wrapped in the right one.

    A value's leading spaces indent it further; a "- " bullet hangs its continuation lines.
    """
    pad = " " * (2 + LABEL)
    lines: list[str] = []
    for value in filter(None, values):
        text = value.lstrip(" ")
        indent = pad + value[: len(value) - len(text)]
        lines += _wrap(text, indent, hang=2 if text.startswith("- ") else 0)
    lines[0] = f"  {label:<{LABEL}}" + lines[0][len(pad) :]
    return lines


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _wrap(text: str, indent: str, hang: int = 0) -> list[str]:
    """Wrap at WIDTH without breaking URLs, flags or ids."""
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=indent,
        subsequent_indent=indent + " " * hang,
        break_long_words=False,
        break_on_hyphens=False,
    )
