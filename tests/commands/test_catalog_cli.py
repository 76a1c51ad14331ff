"""`ceremony catalog`: the three CMK features with their data types and caveats, JSON, coverage."""

from __future__ import annotations

import json

import pytest

from ceremony.cli import main

UNKNOWN = (
    "ceremony: error: unknown CMK feature 'unity-catalog' (allowed: managed-services, "
    "managed-disks, dbfs-root). Run `ceremony catalog` to see what each feature protects\n"
)


def test_catalog_shows_each_feature_with_data_types_and_caveats(capsys):
    assert main(["catalog"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert captured.err == ""
    assert out.startswith("Azure Databricks customer-managed keys (catalog revision 1, checked ")
    for heading in (
        "managed-services: Customer-managed keys for managed services",
        "managed-disks: Customer-managed keys for Azure managed disks",
        "dbfs-root: Customer-managed keys for DBFS root",
    ):
        assert f"\n{heading}\n" in out
    assert "  Protects      - Notebook source and metadata [notebook-source], control plane." in out
    assert "[classic-compute-data-disks], classic compute data disks." in out
    assert "- Job results [job-results], workspace storage account." in out
    assert "  Caveats       - Only future writes use the key" in out
    assert "- Not supported for FedRAMP-compliant workspaces." in out
    assert "\nNot coverable by any customer-managed key\n" in out


def test_catalog_json(capsys):
    assert main(["catalog", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [f["id"] for f in data["features"]] == ["managed-services", "managed-disks", "dbfs-root"]
    disks = data["features"][1]
    assert [t["id"] for t in disks["data_types"]] == ["classic-compute-data-disks"]
    assert "Not supported for FedRAMP-compliant workspaces." in disks["caveats"]


def test_coverage_of_planned_features(capsys):
    assert main(["catalog", "--coverage", "managed-services, dbfs-root"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Azure Databricks CMK coverage (catalog revision 1)\n"
        "Keys: managed-services = (planned), dbfs-root = (planned)\n\nCovered (15)\n"
    )
    assert "      Control plane. Key (planned) via managed-services.\n" in out
    assert "Not covered: no key assigned to the feature that would cover it (1)\n" in out
    assert "      Classic compute data disks. No key serves managed-disks." in out
    assert "Not coverable by any customer-managed key (6)\n" in out


def test_coverage_json(capsys):
    assert main(["catalog", "--coverage", "managed-disks", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["assignments"] == {"managed-disks": "(planned)"}
    assert report["summary"] == {"covered": 1, "not-covered": 15, "not-coverable": 6}


def test_coverage_of_nothing_lists_everything_as_not_covered(capsys):
    assert main(["catalog", "--coverage", ""]) == 0
    out = capsys.readouterr().out
    assert "Keys: none assigned\n" in out and "Covered (0)\n" in out


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_unknown_feature_is_bad_input(capsys, extra):
    assert main(["catalog", "--coverage", "managed-services,unity-catalog", *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == UNKNOWN
