"""The Databricks CMK catalog: contents against DESIGN.md section 6, key rules, rendering."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from ceremony.databricks.catalog import Feature, key_allowed, load_catalog
from ceremony.databricks.render import catalog_json, catalog_table
from ceremony.errors import BadInputError, ExitCode, exit_code_for
from ceremony.keyspec import AES_SIZES, EC_CURVES, RSA_SIZES, KeySpec

FEATURE_IDS = ("managed-services", "managed-disks", "dbfs-root")
SOURCE_PREFIX = "https://learn.microsoft.com/azure/databricks/security/keys/"
EC_REASON = (
    "EC keys in Key Vault can only sign and verify, and Databricks needs WrapKey and UnwrapKey"
)
AES_REASON = (
    "AES (oct-HSM) keys exist only in Managed HSM and no Azure Databricks CMK page documents "
    "them; every published example uses RSA"
)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def features() -> list[Feature]:
    return list(load_catalog().features)


def test_catalog_loads_the_three_features(catalog):
    assert catalog.feature_ids == FEATURE_IDS
    assert catalog.plan == "Premium plan"
    assert isinstance(catalog.revision, int)


def test_catalog_is_read_once(catalog):
    assert load_catalog() is catalog


def test_catalog_is_frozen(catalog):
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalog.features[0].title = "changed"


@pytest.mark.parametrize("feature", features(), ids=lambda f: f.id)
def test_every_feature_is_complete(feature):
    assert feature.title and feature.summary and feature.rotation
    assert feature.data_types
    assert feature.sources
    assert all(url.startswith(SOURCE_PREFIX) for url in feature.sources)
    assert feature.key_rules.kinds == ("rsa",)
    assert feature.key_rules.rsa_sizes == (2048, 3072, 4096)
    assert feature.identity.name and feature.identity.find
    assert feature.identity.permissions == ("Get", "WrapKey", "UnwrapKey")
    assert feature.az.commands and feature.az.flags
    assert feature.arm.path.startswith("properties.")
    assert feature.caveats
    for data_type in feature.data_types:
        assert data_type.id and data_type.name and data_type.location.label


def test_key_rules_name_vaults_and_settings(catalog):
    rules = catalog.features[0].key_rules
    assert rules.vaults == (
        "Azure Key Vault Premium vault (BYOK keys are HSM-protected)",
        "Azure Key Vault Managed HSM",
    )
    assert rules.vault_settings == (
        "soft delete on",
        "purge protection on",
        "same Microsoft Entra tenant as the workspace",
    )
    assert "every published Azure Databricks CMK example uses RSA" in rules.why


def test_managed_services_facts(catalog):
    feature = catalog.feature("managed-services")
    assert feature.az.commands == (
        "az databricks workspace create",
        "az databricks workspace update",
    )
    assert feature.az.flags == (
        "--managed-services-key-source Microsoft.Keyvault",
        "--managed-services-key-name <key name>",
        "--managed-services-key-vault <vault URI>",
        "--managed-services-key-version <key version>",
    )
    assert feature.arm.path == "properties.encryption.entities.managedServices"
    assert "AzureDatabricks" in feature.identity.name
    assert "24 hours" in feature.rotation
    caveats = " ".join(feature.caveats)
    for fact in ("Only future writes", "2024-11-01", "2025-04-10"):
        assert fact in caveats


def test_managed_disks_facts(catalog):
    feature = catalog.feature("managed-disks")
    assert feature.az.flags == (
        "--disk-key-source Microsoft.Keyvault",
        "--disk-key-name <key name>",
        "--disk-key-vault <vault URI>",
        "--disk-key-version <key version>",
        "--disk-key-auto-rotation true",
    )
    assert feature.arm.path == "properties.encryption.entities.managedDisk"
    assert "rotationToLatestKeyVersionEnabled" in feature.arm.fields
    assert "managedDiskIdentity" in feature.identity.find
    assert "--disk-key-auto-rotation" in feature.rotation
    assert feature.key_notes == (
        "Automatic rotation needs an RSA-HSM key of 2048, 3072 or 4096 bits.",
    )
    caveats = " ".join(feature.caveats)
    for fact in ("OS disks", "Serverless compute", "FedRAMP"):
        assert fact in caveats


def test_dbfs_root_facts(catalog):
    feature = catalog.feature("dbfs-root")
    assert feature.az.commands == ("az databricks workspace update",)
    assert feature.az.flags == (
        "--key-source Microsoft.Keyvault",
        "--key-name <key name>",
        "--key-vault <vault URI>",
        "--key-version <key version>",
    )
    assert feature.arm.path == "properties.parameters.encryption.value"
    assert feature.arm.fields == (
        "keySource = Microsoft.Keyvault",
        "KeyName",
        "keyvaulturi",
        "keyversion",
    )
    assert "--prepare-encryption" in feature.prerequisites[0]
    assert "storageAccountIdentity" in feature.identity.find
    assert "Model Serving model image" in " ".join(feature.caveats)


def test_ids_are_unique(catalog):
    data_type_ids = [dt.id for f in catalog.features for dt in f.data_types]
    data_type_ids += [item.id for item in catalog.not_coverable]
    assert len(set(data_type_ids)) == len(data_type_ids)
    assert len(set(catalog.feature_ids)) == len(catalog.feature_ids)


def test_ids_are_kebab_case(catalog):
    ids = list(catalog.feature_ids)
    ids += [dt.id for f in catalog.features for dt in f.data_types]
    ids += [item.id for item in catalog.not_coverable]
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", value) for value in ids)


def test_not_coverable_list_is_present(catalog):
    ids = {item.id for item in catalog.not_coverable}
    assert ids >= {
        "model-serving-image",
        "model-serving-ephemeral-storage",
        "serverless-compute-disks",
        "aibi-dashboards-before-2024-11-01",
        "genie-spaces-before-2025-04-10",
    }
    for item in catalog.not_coverable:
        assert item.reason and item.name
        assert item.source.startswith(SOURCE_PREFIX)


def test_unknown_feature_is_refused_with_the_allowed_ids(catalog):
    with pytest.raises(BadInputError) as caught:
        catalog.feature("disks")
    error = caught.value
    assert error.code == "unknown-cmk-feature"
    assert error.message == (
        "unknown CMK feature 'disks' (allowed: managed-services, managed-disks, dbfs-root)"
    )
    assert error.line() == (
        "ceremony: error: unknown CMK feature 'disks' (allowed: managed-services, "
        "managed-disks, dbfs-root). Run `ceremony catalog` to see what each feature protects"
    )
    assert exit_code_for(error) == ExitCode.BAD_INPUT


@pytest.mark.parametrize("feature_id", FEATURE_IDS)
@pytest.mark.parametrize("size", RSA_SIZES)
def test_rsa_is_allowed(catalog, feature_id, size):
    assert key_allowed(catalog.feature(feature_id), KeySpec("rsa", size)) is None


@pytest.mark.parametrize("feature_id", FEATURE_IDS)
@pytest.mark.parametrize("curve", EC_CURVES)
def test_ec_is_refused_with_the_reason(catalog, feature_id, curve):
    reason = key_allowed(catalog.feature(feature_id), KeySpec("ec", curve=curve))
    assert reason == f"EC {curve} cannot serve {feature_id}: {EC_REASON}"


@pytest.mark.parametrize("feature_id", FEATURE_IDS)
@pytest.mark.parametrize("size", AES_SIZES)
def test_aes_is_refused_with_the_reason(catalog, feature_id, size):
    reason = key_allowed(catalog.feature(feature_id), KeySpec("aes", size))
    assert reason == f"AES {size} cannot serve {feature_id}: {AES_REASON}"


def test_rsa_size_outside_the_rules_is_refused(catalog):
    feature = catalog.feature("managed-disks")
    narrow = dataclasses.replace(
        feature, key_rules=dataclasses.replace(feature.key_rules, rsa_sizes=(3072, 4096))
    )
    assert key_allowed(narrow, KeySpec("rsa", 2048)) == (
        "RSA 2048 cannot serve managed-disks: Azure Databricks takes RSA 3072, 4096"
    )


def test_every_key_kind_is_allowed_or_has_a_reason(catalog):
    rules = catalog.features[0].key_rules
    refused = {refusal.kind for refusal in rules.refused}
    assert set(rules.kinds) | refused == {"rsa", "ec", "aes"}
    assert not set(rules.kinds) & refused


def test_catalog_json_is_plain_json(catalog):
    data = json.loads(json.dumps(catalog_json(catalog)))
    assert [f["id"] for f in data["features"]] == list(FEATURE_IDS)
    assert data["features"][0]["key_rules"]["refused"] == [
        {"kind": "ec", "reason": EC_REASON},
        {"kind": "aes", "reason": AES_REASON},
    ]
    assert data["features"][2]["arm"]["path"] == "properties.parameters.encryption.value"
    assert len(data["not_coverable"]) == len(catalog.not_coverable)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_catalog_table_shows_everything(catalog):
    table = catalog_table(catalog)
    flat = _flat(table)
    for feature in catalog.features:
        assert f"{feature.id}: {feature.title}" in table
        for data_type in feature.data_types:
            assert f"{_flat(data_type.name)} [{data_type.id}]" in flat
        for caveat in feature.caveats:
            assert _flat(caveat) in flat
        for flag in feature.az.flags:
            assert flag in table
        for url in feature.sources:
            assert url in table
        assert feature.arm.path in table
        assert _flat(feature.rotation) in flat
        assert _flat(feature.identity.name) in flat
    for item in catalog.not_coverable:
        assert f"{_flat(item.name)} [{item.id}]" in flat
        assert _flat(item.reason) in flat
    assert _flat(EC_REASON) in flat and _flat(AES_REASON) in flat


def test_catalog_table_fits_100_columns_except_bare_urls(catalog):
    for line in catalog_table(catalog).splitlines():
        assert len(line) <= 100 or re.fullmatch(r" *(Source: )?https://\S+", line), line
