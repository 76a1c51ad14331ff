"""Checking the plan's `[[key]]` tables: the rules that tie a key to Azure and Databricks.

A key is where the plan meets three other rule books: the token (a label, a type, an origin),
Azure (the KEK's vault must take the key type, `azure_name` and `key_ops` must be what Key
Vault accepts) and Databricks (the catalog says which keys may serve which feature, and each
workspace's feature takes one key). Those rules are kept here, apart from the plan's sections,
so each can be read next to its source.
"""

from __future__ import annotations

from pathlib import Path

from ceremony.azure.compat import check_target
from ceremony.azure.kid import KEY_NAME
from ceremony.databricks.catalog import key_allowed, load_catalog
from ceremony.errors import BadInputError
from ceremony.keyspec import AES_SIZES, EC_CURVES, RSA_SIZES, KeySpec, commas
from ceremony.plan.fields import FILE_NAME, FILE_NAME_RULE, Problems, Table, at, sentence
from ceremony.plan.model import (
    AFTER_EXPORT,
    DEFAULT_KEY_OPS,
    FEATURE_KEY_OPS,
    KEY_OPS,
    KEY_TYPES,
    ORIGINS,
    KekEntry,
    KeyEntry,
)

KEY_FIELDS = (
    "name", "label", "origin", "source", "unwrap_key", "type", "size", "curve", "kek",
    "features", "workspaces", "azure_name", "key_ops", "after_export",
)
IMPORT_ONLY = ("source", "unwrap_key")
RESERVED_LABEL_PREFIX = "cmk-ceremony-"
IMPORT_RSA_ONLY = (
    'origin = "import" takes rsa keys only: a key-transfer file carries no EC public point '
    "and the token computes no check value for an unwrapped AES key, so their read-back "
    "would show nothing"
)


class KeyChecker:
    """Checks each `[[key]]` and what the keys must not share (names, labels, features)."""

    def __init__(
        self,
        problems: Problems,
        base: Path,
        workspaces: tuple[str, ...] | None,
        keks: dict[str, KekEntry | None],
    ) -> None:
        self.problems = problems
        self.base = base
        self.workspaces = workspaces  # None when [ceremony] is broken: not checked then
        self.keks = keks
        self.catalog = load_catalog()
        self.names: dict[str, str] = {}
        self.labels: dict[str, str] = {}
        self.azure_names: dict[str, str] = {}
        self.served: dict[tuple[str, str], str] = {}  # (workspace, feature) -> key path

    def run(self, tables: list[Table]) -> tuple[KeyEntry, ...]:
        return tuple(entry for entry in map(self.key, tables) if entry is not None)

    def key(self, table: Table) -> KeyEntry | None:
        before = len(self.problems.lines)
        name = table.unique("name", self.names, "name")
        if name is not None and not FILE_NAME.fullmatch(name):
            table.problem("name", f"{name!r} is not {FILE_NAME_RULE}")
        label = table.unique("label", self.labels, "label")
        if label is not None and label.startswith(RESERVED_LABEL_PREFIX):
            table.problem("label", f"{label!r} starts with {RESERVED_LABEL_PREFIX!r}, which "
                                   "the tool keeps for its own objects (the ceremony signer)")
        origin = table.choice("origin", ORIGINS, default="generate")
        source, unwrap_key = self.origin(table, origin)
        spec = self.spec(table)
        if origin == "import" and spec is not None and spec.kind != "rsa":
            table.problem("type", IMPORT_RSA_ONLY)
        kek = self.kek(table, spec)
        features = self.features(table, spec)
        workspaces = self.key_workspaces(table)
        if workspaces is not None:
            self.serve(table, features, workspaces)
        azure_name = table.unique("azure_name", self.azure_names, "Azure key name")
        if azure_name is not None and not KEY_NAME.fullmatch(azure_name):
            table.problem("azure_name", f"{azure_name!r} is not 1-127 letters, digits and hyphens")
        key_ops = self.key_ops(table, spec, [feature for _, feature in features])
        after_export = table.choice("after_export", AFTER_EXPORT, default="keep")
        if len(self.problems.lines) > before:
            return None
        return KeyEntry(
            name=name,
            label=label,
            origin=origin,
            spec=spec,
            kek=kek,
            features=tuple(feature for _, feature in features),
            workspaces=workspaces,
            azure_name=azure_name,
            key_ops=key_ops,
            after_export=after_export,
            source=source,
            unwrap_key=unwrap_key,
        )

    def origin(self, table: Table, origin: str | None) -> tuple[Path | None, str | None]:
        """The key-transfer file and unwrapping key's label of an imported key."""
        if origin == "import":
            return table.file("source", self.base), table.text("unwrap_key")
        if origin == "generate":
            for name in IMPORT_ONLY:
                if table.has(name):
                    table.problem(name, 'only for origin = "import"')
        return None, None

    def spec(self, table: Table) -> KeySpec | None:
        kind = table.choice("type", KEY_TYPES)
        if kind == "ec":
            if table.has("size"):
                table.problem("size", "an ec key takes curve, not size")
            curve = table.text("curve")
            if curve is not None and curve not in EC_CURVES:
                table.problem("curve", f"{curve!r} is not one of {commas(EC_CURVES)}")
            elif curve is not None and not table.has("size"):
                return KeySpec("ec", curve=curve)
        elif kind is not None:
            if table.has("curve"):
                table.problem("curve", f"an {kind} key takes size, not curve")
            sizes = RSA_SIZES if kind == "rsa" else AES_SIZES
            size = table.integer("size")
            if size is not None and size not in sizes:
                table.problem("size", f"{size} is not one of {commas(sizes)}")
            elif size is not None and not table.has("curve"):
                return KeySpec(kind, size=size)
        return None

    def kek(self, table: Table, spec: KeySpec | None) -> str | None:
        name = table.text("kek")
        if name is None:
            return None
        if name not in self.keks:
            declared = commas(self.keks) or "none"
            table.problem("kek", f"no [[kek]] is named {name!r} (kek names: {declared})")
        elif self.keks[name] is not None and spec is not None:
            try:
                check_target(self.keks[name].kek.kid, spec)
            except BadInputError as error:
                table.problem("type", sentence(error))
        return name

    def features(self, table: Table, spec: KeySpec | None) -> list[tuple[str, str]]:
        """The features this key may serve, as (path, id); the others are reported."""
        values = table.texts("features", required=False, allow_empty=True) or ()
        known = []
        for index, feature_id in enumerate(values, start=1):
            path = at(at(table.path, "features"), index)
            try:
                feature = self.catalog.feature(feature_id)
            except BadInputError as error:
                self.problems.add(path, error.message)
                continue
            reason = key_allowed(feature, spec) if spec is not None else None
            if reason:
                self.problems.add(path, reason)
            else:
                known.append((path, feature_id))
        return known

    def key_workspaces(self, table: Table) -> tuple[str, ...] | None:
        values = table.texts("workspaces", required=False)
        if values is None:
            return None if table.has("workspaces") else self.workspaces
        if self.workspaces is None:
            return values
        known = set(self.workspaces)
        for index, workspace in enumerate(values, start=1):
            if workspace not in known:
                self.problems.add(
                    at(at(table.path, "workspaces"), index),
                    f"{workspace!r} is not one of ceremony.workspaces ({commas(self.workspaces)})",
                )
        return values

    def serve(self, table: Table, features: list[tuple[str, str]], workspaces) -> None:
        """Each workspace's feature takes one key: the first key listing it keeps it."""
        for path, feature_id in features:
            taken: dict[str, list[str]] = {}
            for workspace in workspaces:
                holder = self.served.setdefault((workspace, feature_id), table.path)
                if holder != table.path:
                    taken.setdefault(holder, []).append(workspace)
            for holder, where in taken.items():
                plural = "s" if len(where) > 1 else ""
                self.problems.add(
                    path,
                    f"{feature_id} is already served by {holder} for workspace{plural} "
                    f"{commas(where)}; a workspace's feature takes one key",
                )

    def key_ops(self, table: Table, spec: KeySpec | None, features: list[str]):
        ops = table.texts("key_ops", required=False)
        if spec is None:
            return ops
        if ops is None:
            return None if table.has("key_ops") else DEFAULT_KEY_OPS[spec.kind]
        allowed = KEY_OPS[spec.kind]
        for index, op in enumerate(ops, start=1):
            if op not in allowed:
                self.problems.add(
                    at(at(table.path, "key_ops"), index),
                    f"{op!r} is not allowed for an {spec.kind} key (allowed: {commas(allowed)})",
                )
        missing = [op for op in FEATURE_KEY_OPS if op not in ops]
        if features and spec.kind != "ec" and missing:
            table.problem(
                "key_ops",
                f"lacks {' and '.join(missing)}, which a key serving {commas(features)} needs: "
                "Databricks wraps its data keys with it",
            )
        return ops
