"""The Azure Databricks CMK catalog: the packaged `catalog.toml` as frozen dataclasses.

The facts (what each feature protects, key rules, identities, `az` flags, caveats, sources)
change when Microsoft changes the product, not when this code changes, so they live in a data
file that a reviewer can diff against the cited pages. This module only loads that file and
answers two questions the plan and the CLI ask: "which feature is this id?" and "may this key
serve that feature?".
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ceremony.errors import BadInputError
from ceremony.keyspec import KeySpec


@dataclass(frozen=True)
class Location:
    """Where data lives, e.g. `control-plane` / "control plane"."""

    id: str
    label: str


@dataclass(frozen=True)
class DataType:
    """One kind of Databricks data a feature protects."""

    id: str
    name: str
    location: Location
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Refusal:
    """Why a key type cannot serve a Databricks CMK feature."""

    kind: str
    reason: str


@dataclass(frozen=True)
class KeyRules:
    """Which keys and vaults a feature accepts."""

    kinds: tuple[str, ...]
    rsa_sizes: tuple[int, ...]
    vaults: tuple[str, ...]
    vault_settings: tuple[str, ...]
    why: str
    refused: tuple[Refusal, ...]


@dataclass(frozen=True)
class Identity:
    """Who must reach the key, how to find them, and the key permissions they need."""

    name: str
    find: str
    permissions: tuple[str, ...]


@dataclass(frozen=True)
class AzCli:
    """The `az databricks workspace` commands and flags that configure a feature."""

    commands: tuple[str, ...]
    flags: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class ArmProperty:
    """The Microsoft.Databricks/workspaces property that holds the key, and its fields."""

    path: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Feature:
    """One Azure Databricks CMK feature."""

    id: str
    title: str
    summary: str
    data_types: tuple[DataType, ...]
    key_rules: KeyRules
    key_notes: tuple[str, ...]
    identity: Identity
    az: AzCli
    arm: ArmProperty
    rotation: str
    prerequisites: tuple[str, ...]
    caveats: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class NotCoverable:
    """Databricks data that no customer-managed key can protect, and why."""

    id: str
    name: str
    location: Location
    reason: str
    source: str


@dataclass(frozen=True)
class Catalog:
    """Every Azure Databricks CMK feature and every data type no CMK covers."""

    revision: int
    checked: str
    plan: str
    features: tuple[Feature, ...]
    not_coverable: tuple[NotCoverable, ...]
    tooling_sources: tuple[str, ...]

    @property
    def feature_ids(self) -> tuple[str, ...]:
        return tuple(feature.id for feature in self.features)

    def feature(self, feature_id: str) -> Feature:
        """The feature with this id; BadInputError names the allowed ids otherwise."""
        for feature in self.features:
            if feature.id == feature_id:
                return feature
        raise BadInputError(
            "unknown-cmk-feature",
            f"unknown CMK feature {feature_id!r} (allowed: {', '.join(self.feature_ids)})",
            "Run `ceremony catalog` to see what each feature protects",
        )


def key_allowed(feature: Feature, spec: KeySpec) -> str | None:
    """Why `spec` cannot serve `feature`, or None when it can."""
    rules = feature.key_rules
    if spec.kind not in rules.kinds:
        reason = next(r.reason for r in rules.refused if r.kind == spec.kind)
        return f"{spec} cannot serve {feature.id}: {reason}"
    if spec.kind == "rsa" and spec.size not in rules.rsa_sizes:
        sizes = ", ".join(str(size) for size in rules.rsa_sizes)
        return f"{spec} cannot serve {feature.id}: Azure Databricks takes RSA {sizes}"
    return None


@cache
def load_catalog() -> Catalog:
    """The packaged catalog, read once per process."""
    text = resources.files(__package__).joinpath("catalog.toml").read_text(encoding="utf-8")
    return _parse(tomllib.loads(text))


def _parse(data: dict) -> Catalog:
    locations = {key: Location(key, label) for key, label in data["locations"].items()}
    raw_rules = data["key_rules"]
    rules = KeyRules(
        kinds=tuple(raw_rules["kinds"]),
        rsa_sizes=tuple(raw_rules["rsa_sizes"]),
        vaults=tuple(raw_rules["vaults"]),
        vault_settings=tuple(raw_rules["vault_settings"]),
        why=raw_rules["why"],
        refused=tuple(Refusal(r["kind"], r["reason"]) for r in raw_rules["refused"]),
    )
    features = tuple(_feature(raw, rules, locations) for raw in data["feature"])
    not_coverable = tuple(
        NotCoverable(
            id=raw["id"],
            name=raw["name"],
            location=locations[raw["location"]],
            reason=raw["reason"],
            source=raw["source"],
        )
        for raw in data["not_coverable"]
    )
    return Catalog(
        revision=data["revision"],
        checked=data["checked"],
        plan=data["plan"],
        features=features,
        not_coverable=not_coverable,
        tooling_sources=tuple(data["tooling_sources"]),
    )


def _feature(raw: dict, rules: KeyRules, locations: dict[str, Location]) -> Feature:
    return Feature(
        id=raw["id"],
        title=raw["title"],
        summary=raw["summary"],
        data_types=tuple(
            DataType(
                id=item["id"],
                name=item["name"],
                location=locations[item["location"]],
                notes=tuple(item["notes"]),
            )
            for item in raw["data_type"]
        ),
        key_rules=rules,
        key_notes=tuple(raw["key_notes"]),
        identity=Identity(
            name=raw["identity"]["name"],
            find=raw["identity"]["find"],
            permissions=tuple(raw["identity"]["permissions"]),
        ),
        az=AzCli(
            commands=tuple(raw["az"]["commands"]),
            flags=tuple(raw["az"]["flags"]),
            note=raw["az"]["note"],
        ),
        arm=ArmProperty(path=raw["arm"]["property"], fields=tuple(raw["arm"]["fields"])),
        rotation=raw["rotation"],
        prerequisites=tuple(raw["prerequisites"]),
        caveats=tuple(raw["caveats"]),
        sources=tuple(raw["sources"]),
    )
