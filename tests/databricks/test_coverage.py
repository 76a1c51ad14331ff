"""Coverage reports: every data type, for every subset of the three CMK features."""

from __future__ import annotations

import dataclasses
import json
import re
from itertools import combinations

import pytest

from ceremony.databricks.catalog import load_catalog
from ceremony.databricks.coverage import coverage
from ceremony.databricks.render import coverage_detail, coverage_table
from ceremony.errors import BadInputError

FEATURE_IDS = ("managed-services", "managed-disks", "dbfs-root")

# Written out by hand from DESIGN.md section 6, so the catalog is checked, not echoed.
FEATURE_OF = {
    "notebook-source": "managed-services",
    "notebook-results-control-plane": "managed-services",
    "secrets": "managed-services",
    "sql-queries": "managed-services",
    "git-credentials": "managed-services",
    "aibi-dashboards": "managed-services",
    "genie-spaces": "managed-services",
    "vector-search": "managed-services",
    "classic-compute-data-disks": "managed-disks",
    "dbfs-root-data": "dbfs-root",
    "job-results": "dbfs-root",
    "sql-results": "dbfs-root",
    "mlflow-models": "dbfs-root",
    "dlt-dbfs-root": "dbfs-root",
    "notebook-results-storage": "dbfs-root",
    "workspace-system-data": "dbfs-root",
}
NOT_COVERABLE = {
    "model-serving-image",
    "model-serving-ephemeral-storage",
    "serverless-compute-disks",
    "compute-os-disks",
    "aibi-dashboards-before-2024-11-01",
    "genie-spaces-before-2025-04-10",
}
SUBSETS = [
    subset for size in range(len(FEATURE_IDS) + 1) for subset in combinations(FEATURE_IDS, size)
]


def subset_id(subset: tuple[str, ...]) -> str:
    return "+".join(subset) or "none"


def assign(subset: tuple[str, ...]) -> dict[str, str]:
    return {feature_id: f"key-{feature_id}" for feature_id in subset}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_the_subsets_are_those_of_the_catalogs_own_features(catalog):
    """The parametrised tests run every subset of the features the catalog has, in its order."""
    assert catalog.feature_ids == FEATURE_IDS


@pytest.mark.parametrize("subset", SUBSETS, ids=subset_id)
def test_every_data_type_has_its_status(catalog, subset):
    report = coverage(catalog, assign(subset))
    by_id = {entry.data_type: entry for entry in report.entries}
    assert len(by_id) == len(report.entries)
    assert set(by_id) == set(FEATURE_OF) | NOT_COVERABLE
    for data_type, feature_id in FEATURE_OF.items():
        entry = by_id[data_type]
        assert entry.feature == feature_id
        if feature_id in subset:
            assert entry.status == "covered"
            assert entry.key == f"key-{feature_id}"
            assert entry.reason is None
        else:
            assert entry.status == "not-covered"
            assert entry.key is None
            assert entry.reason == f"No key serves {feature_id}"
    reasons = {item.id: item.reason for item in catalog.not_coverable}
    for data_type in NOT_COVERABLE:
        entry = by_id[data_type]
        assert (entry.status, entry.feature, entry.key) == ("not-coverable", None, None)
        assert entry.reason == reasons[data_type]


@pytest.mark.parametrize("subset", SUBSETS, ids=subset_id)
def test_summary_and_json(catalog, subset):
    data = json.loads(json.dumps(coverage(catalog, assign(subset)).to_json()))
    covered = sum(1 for feature_id in FEATURE_OF.values() if feature_id in subset)
    assert data["summary"] == {
        "covered": covered,
        "not-covered": len(FEATURE_OF) - covered,
        "not-coverable": len(NOT_COVERABLE),
    }
    assert data["assignments"] == assign(subset)
    assert data["catalog_revision"] == catalog.revision
    assert len(data["data_types"]) == len(FEATURE_OF) + len(NOT_COVERABLE)


def test_json_entry_shape(catalog):
    data = coverage(catalog, {"managed-services": "ms-2026"}).to_json()
    dashboards = next(e for e in data["data_types"] if e["data_type"] == "aibi-dashboards")
    assert dashboards == {
        "data_type": "aibi-dashboards",
        "name": "AI/BI dashboards",
        "location": "control plane",
        "status": "covered",
        "feature": "managed-services",
        "key": "ms-2026",
        "reason": None,
        "notes": ["Created after 2024-11-01 only."],
    }


def test_assignments_follow_catalog_order(catalog):
    report = coverage(catalog, {"dbfs-root": "b", "managed-services": "a"})
    assert report.assignments == (("managed-services", "a"), ("dbfs-root", "b"))
    assert list(report.to_json()["assignments"]) == ["managed-services", "dbfs-root"]


def test_one_key_may_serve_several_features(catalog):
    report = coverage(catalog, dict.fromkeys(FEATURE_IDS, "shared"))
    assert {entry.key for entry in report.with_status("covered")} == {"shared"}
    assert not report.with_status("not-covered")


def test_unknown_feature_is_refused(catalog):
    with pytest.raises(BadInputError) as caught:
        coverage(catalog, {"managed-services": "a", "root": "b"})
    assert caught.value.code == "unknown-cmk-feature"
    assert caught.value.message == (
        "unknown CMK feature 'root' (allowed: managed-services, managed-disks, dbfs-root)"
    )


def test_report_is_frozen(catalog):
    report = coverage(catalog, {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.entries[0].status = "covered"


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("subset", SUBSETS, ids=subset_id)
def test_coverage_table_lists_every_data_type(catalog, subset):
    report = coverage(catalog, assign(subset))
    table = coverage_table(report)
    flat = _flat(table)
    for entry in report.entries:
        assert f"{_flat(entry.name)} [{entry.data_type}]" in flat
        if entry.reason:
            assert _flat(entry.reason) in flat
    summary = report.to_json()["summary"]
    assert f"Covered ({summary['covered']})" in table
    assert f"feature that would cover it ({summary['not-covered']})" in table
    assert f"Not coverable by any customer-managed key ({summary['not-coverable']})" in table
    for line in table.splitlines():
        assert len(line) <= 100, line


def test_coverage_table_names_keys(catalog):
    table = coverage_table(coverage(catalog, {"managed-disks": "disk-2026"}))
    assert "Keys: managed-disks = disk-2026\n" in table
    assert re.search(r"Key disk-2026 via managed-disks\.", table)
    assert "Keys: none assigned\n" in coverage_table(coverage(catalog, {}))


def test_coverage_detail_words_each_status_as_the_table_does(catalog):
    """The wizard's coverage view shows entries with this wording, so both read alike."""
    report = coverage(catalog, {"managed-services": "services"})
    by_id = {entry.data_type: entry for entry in report.entries}
    assert coverage_detail(by_id["sql-queries"]) == (
        "Control plane. Key services via managed-services. Serverless SQL too.")
    assert coverage_detail(by_id["job-results"]) == (
        "Workspace storage account. No key serves dbfs-root.")
    assert coverage_detail(by_id["compute-os-disks"]) == (
        "Classic compute OS disks. Managed-disk CMK applies to data disks, not OS disks.")
    table = _flat(coverage_table(report))
    assert all(_flat(coverage_detail(entry)) in table for entry in report.entries)
