"""What a set of keys protects in Azure Databricks, and what it leaves unprotected.

A ceremony record must not let anyone believe a key protects more than it does. So a coverage
report names every data type in the catalog: covered (by which key, through which feature),
not covered (and which feature would cover it), or not coverable by any customer-managed key
(and why). It is computed from the catalog alone, so the CLI, the TUI and the record agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ceremony.databricks.catalog import Catalog

Status = Literal["covered", "not-covered", "not-coverable"]
STATUSES: tuple[Status, ...] = ("covered", "not-covered", "not-coverable")


@dataclass(frozen=True)
class CoverageEntry:
    """One data type and how it stands.

    `feature` is the feature that covers it (covered) or would cover it (not covered); None
    when no feature can. `key` is set only when covered. `reason` is None only when covered.
    """

    data_type: str
    name: str
    location: str
    status: Status
    feature: str | None
    key: str | None
    reason: str | None
    notes: tuple[str, ...]

    def to_json(self) -> dict:
        return {
            "data_type": self.data_type,
            "name": self.name,
            "location": self.location,
            "status": self.status,
            "feature": self.feature,
            "key": self.key,
            "reason": self.reason,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class CoverageReport:
    """Every catalog data type with its status, in catalog order."""

    catalog_revision: int
    assignments: tuple[tuple[str, str], ...]  # (feature id, key name), in catalog order
    entries: tuple[CoverageEntry, ...]

    def with_status(self, status: Status) -> tuple[CoverageEntry, ...]:
        return tuple(entry for entry in self.entries if entry.status == status)

    def to_json(self) -> dict:
        """A plain dict for the record and `--json` output."""
        return {
            "catalog_revision": self.catalog_revision,
            "assignments": dict(self.assignments),
            "summary": {status: len(self.with_status(status)) for status in STATUSES},
            "data_types": [entry.to_json() for entry in self.entries],
        }


def coverage(catalog: Catalog, assignments: Mapping[str, str]) -> CoverageReport:
    """Report every data type given `assignments` (feature id -> name of the key serving it).

    An unknown feature id raises BadInputError (from `Catalog.feature`).
    """
    for feature_id in assignments:
        catalog.feature(feature_id)
    entries: list[CoverageEntry] = []
    for feature in catalog.features:
        key = assignments.get(feature.id)
        for data_type in feature.data_types:
            entries.append(
                CoverageEntry(
                    data_type=data_type.id,
                    name=data_type.name,
                    location=data_type.location.label,
                    status="covered" if key is not None else "not-covered",
                    feature=feature.id,
                    key=key,
                    reason=None if key is not None else f"No key serves {feature.id}",
                    notes=data_type.notes,
                )
            )
    for item in catalog.not_coverable:
        entries.append(
            CoverageEntry(
                data_type=item.id,
                name=item.name,
                location=item.location.label,
                status="not-coverable",
                feature=None,
                key=None,
                reason=item.reason,
                notes=(),
            )
        )
    ordered = tuple(
        (feature_id, assignments[feature_id])
        for feature_id in catalog.feature_ids
        if feature_id in assignments
    )
    return CoverageReport(catalog.revision, ordered, tuple(entries))
