"""What a checked plan is: frozen dataclasses, the vocabulary of allowed values, and PlanError.

Kept apart from the loader (plan/load.py) so the engine, the record and the TUI can depend on the
shape of a plan without the checking code, and so the allowed values are written once: the
checker's messages list them, the dataclasses' Literal types name them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ceremony.azure.kek import Kek
from ceremony.errors import BadInputError, printable
from ceremony.keyspec import KeySpec
from ceremony.pins import PinSource

Role = Literal["administrator", "custodian", "witness"]
WrapPolicy = Literal["trusted", "extractable"]
Origin = Literal["generate", "import"]
AfterExport = Literal["keep", "destroy"]

ROLES: tuple[Role, ...] = ("administrator", "custodian", "witness")
WRAP_POLICIES: tuple[WrapPolicy, ...] = ("trusted", "extractable")
ORIGINS: tuple[Origin, ...] = ("generate", "import")
AFTER_EXPORT: tuple[AfterExport, ...] = ("keep", "destroy")
KEY_TYPES = ("rsa", "ec", "aes")

# Azure key operations a target of each type may carry (Key Vault's JSON Web Key operations).
KEY_OPS = {
    "rsa": ("encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"),
    "ec": ("sign", "verify"),
    "aes": ("encrypt", "decrypt", "wrapKey", "unwrapKey"),
}
DEFAULT_KEY_OPS = {
    "rsa": ("wrapKey", "unwrapKey"),
    "ec": ("sign", "verify"),
    "aes": ("wrapKey", "unwrapKey"),
}
# Every Databricks CMK feature wraps its data keys with the customer-managed key.
FEATURE_KEY_OPS = ("wrapKey", "unwrapKey")


@dataclass(frozen=True)
class CeremonyInfo:
    """`[ceremony]`: `id` names the output directory; `previous_record` chains ceremonies."""

    id: str
    purpose: str
    workspaces: tuple[str, ...]
    previous_record: Path | None


@dataclass(frozen=True)
class Participant:
    name: str
    role: Role


@dataclass(frozen=True)
class PinPart:
    """One custodian's part of a split PIN; the parts are joined in plan order."""

    custodian: str
    source: PinSource


@dataclass(frozen=True)
class PinSpec:
    """Where a PIN comes from: one `source`, or `parts` held by distinct custodians."""

    source: PinSource | None = None
    parts: tuple[PinPart, ...] = ()

    @property
    def split(self) -> bool:
        return bool(self.parts)

    @property
    def sources(self) -> tuple[PinSource, ...]:
        return (self.source,) if self.source is not None else tuple(p.source for p in self.parts)

    def __str__(self) -> str:
        if self.source is not None:
            return str(self.source)
        return " + ".join(f"{part.custodian}: {part.source}" for part in self.parts)

    def askers(self, role: str, token: str) -> tuple[tuple[str, PinSource], ...]:
        """Who gives the PIN or each part, as prompts and messages name them, and from where."""
        if self.source is not None:
            return ((f"{role} of token {token}", self.source),)
        return tuple((f"{part.custodian} ({role} PIN part {n} of {len(self.parts)})", part.source)
                     for n, part in enumerate(self.parts, 1))


@dataclass(frozen=True)
class HsmSettings:
    """`[hsm]`: the token (by label or by serial, exactly one) and the PIN sources."""

    module: Path | None
    token: str | None
    serial: str | None
    wrap_policy: WrapPolicy
    user_pin: PinSpec
    so_pin: PinSpec | None


@dataclass(frozen=True)
class KekEntry:
    """`[[kek]]`: a named, loaded and checked KEK; its kid says which vault takes the keys."""

    name: str
    file: Path
    json: Path | None
    kek: Kek


@dataclass(frozen=True)
class KeyEntry:
    """`[[key]]`: one target key, where it goes in Azure, and what it serves in Databricks."""

    name: str
    label: str
    origin: Origin
    spec: KeySpec
    kek: str
    features: tuple[str, ...]
    workspaces: tuple[str, ...]
    azure_name: str
    key_ops: tuple[str, ...]
    after_export: AfterExport
    source: Path | None = None  # origin = "import": the key-transfer file
    unwrap_key: str | None = None  # origin = "import": label of the unwrapping key


@dataclass(frozen=True)
class Output:
    directory: Path


@dataclass(frozen=True)
class Plan:
    """A plan that passed every check; `text` and `sha256` are of the file as read."""

    path: Path
    sha256: str
    text: str
    ceremony: CeremonyInfo
    participants: tuple[Participant, ...]
    hsm: HsmSettings
    keks: tuple[KekEntry, ...]
    keys: tuple[KeyEntry, ...]
    output: Output

    @property
    def ceremony_dir(self) -> Path:
        """The new directory the ceremony writes: `<output.directory>/<ceremony.id>`."""
        return self.output.directory / self.ceremony.id

    def kek(self, name: str) -> KekEntry:
        """The KEK a key names (`KeyEntry.kek`); KeyError for a name the plan lacks."""
        return {entry.name: entry for entry in self.keks}[name]

    def pin_askers(self) -> tuple[tuple[str, PinSource], ...]:
        """Every PIN source a run reads, with who gives it: the SO's only for trusted wrapping."""
        token = self.hsm.token or self.hsm.serial
        askers = self.hsm.user_pin.askers("user", token)
        if self.hsm.wrap_policy == "trusted":
            askers += self.hsm.so_pin.askers("SO", token)
        return askers

    @property
    def prompts_for_pins(self) -> bool:
        """True when a person types a PIN at the terminal during the run."""
        specs = (self.hsm.user_pin, self.hsm.so_pin)
        return any(src.kind == "prompt" for spec in specs if spec for src in spec.sources)

    def with_role(self, role: Role) -> tuple[Participant, ...]:
        """The participants holding `role`, in plan order."""
        return tuple(p for p in self.participants if p.role == role)


class PlanError(BadInputError):
    """Every problem of a plan at once, each `"<field path>: <what is wrong>"`.

    Field paths use the TOML's own names; arrays of tables and list items count from 1 as a
    person reads the file: `key[2].size` is the second `[[key]]`, `ceremony.workspaces[1]` the
    first workspace listed.
    """

    def __init__(self, path: Path, problems: tuple[str, ...]) -> None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(
            "plan-invalid",
            f"{path}: {problems[0]}{more}",
            f"Fix the plan and run `ceremony plan check {path}` again; nothing was touched",
        )
        self.path = path
        self.problems = problems

    def line(self) -> str:
        """One stderr line per problem, then one line with the hint."""
        lines = [f"ceremony: error: {self.path}: {problem}" for problem in self.problems]
        count = f"{len(self.problems)} problem{'s' if len(self.problems) > 1 else ''}"
        lines.append(f"ceremony: error: {self.path}: {count}. {self.hint}")
        return "\n".join(map(printable, lines))
