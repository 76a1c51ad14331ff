"""The plan file: TOML in, a checked `Plan` out, or every problem at once.

The plan is the one reviewed document a ceremony runs from (boulder's ceremony tool is the
model), so it is checked completely before anything touches the token: each section and field,
the cross-references (a key's KEK, its workspaces, the custodians holding PIN parts), the KEK
files themselves (azure/kek.py), what Azure and Databricks accept (azure/compat.py, the CMK
catalog), and that the ceremony's output directory is new. A plan holds no PIN: a value under a
PIN-named key that is not a PIN source is refused without being shown.

Problems are `"<field path>: <what is wrong>"`, paths in the TOML's own names with array items
counted from 1 (`key[2].size`, `participant[1].role`, `hsm.user_pin`, `kek[1].file`), in the
order: PIN values first, then section by section as the file is usually laid out.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import sys
import tomllib
from pathlib import Path

from ceremony.azure.kek import load_kek
from ceremony.azure.kid import parse_kid
from ceremony.errors import BadInputError, CeremonyError
from ceremony.files import MiB, read_input
from ceremony.pins import PinSource
from ceremony.plan.fields import (
    FILE_NAME,
    FILE_NAME_RULE,
    Problems,
    Table,
    at,
    not_a_source,
    path_is,
    pin_source,
    sentence,
)
from ceremony.plan.keys import KEY_FIELDS, KeyChecker
from ceremony.plan.model import (
    ROLES,
    WRAP_POLICIES,
    CeremonyInfo,
    HsmSettings,
    KekEntry,
    Output,
    Participant,
    PinPart,
    PinSpec,
    Plan,
    PlanError,
)
from ceremony.record.verify import check_previous_record

# Room for 200,000 workspaces (about 15 MB of TOML); a usual plan is a few KiB.
PLAN_FILE_LIMIT = 64 * MiB
# A plan nests at most five deep (hsm.user_pin.parts[1].source); anything far deeper is not one.
MAX_DEPTH = 32
TOO_DEEP = f"toml: tables or values are nested more than {MAX_DEPTH} levels deep"
SECTIONS = ("ceremony", "participant", "hsm", "kek", "key", "output")
CEREMONY_FIELDS = ("id", "purpose", "workspaces", "previous_record")
HSM_FIELDS = ("module", "token", "serial", "wrap_policy", "user_pin", "so_pin")
KEK_FIELDS = ("name", "file", "kid", "json")
WORKSPACE_NAME = re.compile(r"[A-Za-z0-9_-]{3,64}")
WORKSPACE_ID = re.compile(
    r"/subscriptions/[0-9A-Fa-f-]{36}/resourceGroups/[-\w.()]{1,90}"
    r"/providers/Microsoft\.Databricks/workspaces/[A-Za-z0-9_-]{3,64}",
    re.IGNORECASE,
)
WORKSPACE_RULE = (
    "is neither a workspace name (3-64 letters, digits, '_' or '-') nor a workspace resource id "
    "(/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Databricks/workspaces/<name>)"
)


def load_plan(path: Path, *, resuming: bool = False) -> Plan:
    """Read and check the plan at `path`; PlanError lists every problem found.

    `resuming` accepts an output directory that already holds this ceremony (resume, abort).
    """
    path = Path(path)
    try:
        data = read_input(path, "plan file", PLAN_FILE_LIMIT)
    except (OSError, ValueError) as error:
        raise BadInputError(
            "plan-unreadable",
            f"plan file {path} cannot be read ({getattr(error, 'strerror', None) or error})",
            "Check the path of the plan file",
        ) from None
    return plan_from_bytes(path, data, resuming=resuming)


def plan_from_bytes(path: Path, data: bytes, *, resuming: bool = False) -> Plan:
    """Check `data` as the plan file at `path` (paths in it are relative to `path`'s directory).

    The wizard checks a plan it is building this way before it writes the file, so the bytes it
    saves are the bytes that passed.
    """
    if data.startswith(codecs.BOM_UTF8):
        raise BadInputError(
            "plan-bom", f"plan file {path} starts with a UTF-8 byte order mark (BOM)",
            "Save it as UTF-8 without a BOM (in Notepad: Save As, encoding UTF-8)",
        )
    try:
        text = data.decode("utf-8")
        raw = tomllib.loads(text)
    except UnicodeDecodeError:
        raise PlanError(path, ("toml: the file is not UTF-8 text",)) from None
    except tomllib.TOMLDecodeError as error:
        raise PlanError(path, (f"toml: {error}",)) from None
    except ValueError:  # int() refuses a decimal number longer than the limit below
        raise PlanError(path, (f"toml: an integer has more than {sys.get_int_max_str_digits()} "
                               "digits",)) from None
    except RecursionError:
        raise PlanError(path, (TOO_DEEP,)) from None
    if _too_deep(raw):  # before any check walks it: `a.a.a... = 1` nests a table per part
        raise PlanError(path, (TOO_DEEP,))
    return _Checker(path, raw, resuming).plan(data, text)


def _too_deep(value: object) -> bool:
    """Tables and arrays nest more than MAX_DEPTH levels in `value` (found without recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return True
            pending.extend((child, depth + 1)
                           for child in (item.values() if isinstance(item, dict) else item))
    return False


class _Checker:
    """One plan's check: sections in file order, each adding its problems to one list."""

    def __init__(self, path: Path, raw: dict, resuming: bool = False) -> None:
        self.path = path
        self.resuming = resuming
        self.base = path.absolute().parent
        self.problems = Problems()
        self.problems.guard_pins(raw)
        self.top = Table(self.problems, "", raw, SECTIONS)

    def plan(self, data: bytes, text: str) -> Plan:
        ceremony = self.ceremony()
        participants = self.participants()
        hsm = self.hsm({p.name: p.role for p in participants})
        keks = self.keks()
        keys = self.keys(ceremony, keks)
        output = self.output(ceremony)
        if self.problems.lines:
            raise PlanError(self.path, tuple(self.problems.lines))
        return Plan(
            path=self.path,
            sha256=hashlib.sha256(data).hexdigest(),
            text=text,
            ceremony=ceremony,
            participants=participants,
            hsm=hsm,
            keks=tuple(entry for entry in keks.values() if entry is not None),
            keys=keys,
            output=output,
        )

    # -- sections -------------------------------------------------------------------------------

    def ceremony(self) -> CeremonyInfo | None:
        table = self.top.table("ceremony", CEREMONY_FIELDS)
        if table is None:
            return None
        ceremony_id = table.text("id")
        if ceremony_id is not None and not FILE_NAME.fullmatch(ceremony_id):
            table.problem("id", f"{ceremony_id!r} is not {FILE_NAME_RULE}")
        purpose = table.text("purpose")
        workspaces = table.texts("workspaces")
        for index, workspace in enumerate(workspaces or (), start=1):
            if not (WORKSPACE_NAME.fullmatch(workspace) or WORKSPACE_ID.fullmatch(workspace)):
                self.problems.add(at(at(table.path, "workspaces"), index),
                                  f"{workspace!r} {WORKSPACE_RULE}")
        previous = table.file("previous_record", self.base, required=False)
        if previous is not None:
            try:
                check_previous_record(previous)
            except CeremonyError as error:
                table.problem("previous_record", f"{previous} is not a ceremony record that "
                                                 f"verifies: {sentence(error)}")
        return CeremonyInfo(
            id=ceremony_id, purpose=purpose, workspaces=workspaces, previous_record=previous
        )

    def participants(self) -> tuple[Participant, ...]:
        before = len(self.problems.lines)
        found: list[tuple[str, Participant]] = []
        names: dict[str, str] = {}
        for table in self.top.tables("participant", ("name", "role")):
            name = table.unique("name", names, "name")
            role = table.choice("role", ROLES)
            if name is not None and role is not None:
                found.append((table.path, Participant(name, role)))
        if found and len(self.problems.lines) == before:
            self.roles_needed(found)
        return tuple(participant for _, participant in found)

    def roles_needed(self, found: list[tuple[str, Participant]]) -> None:
        def holding(role: str) -> list[str]:
            return [path for path, participant in found if participant.role == role]

        def has(paths: list[str]) -> str:
            return f"has {len(paths)}" + (f" ({', '.join(paths)})" if paths else "")

        admins, custodians = holding("administrator"), holding("custodian")
        if len(admins) != 1:
            self.problems.add("participant", f"needs exactly one administrator, {has(admins)}")
        if len(custodians) < 2:
            self.problems.add(
                "participant", f"needs at least two custodians (split knowledge), {has(custodians)}"
            )

    def hsm(self, roles: dict[str, str]) -> HsmSettings | None:
        table = self.top.table("hsm", HSM_FIELDS)
        if table is None:
            return None
        module = table.file("module", self.base, required=False)
        token = table.text("token", required=False)
        serial = table.text("serial", required=False)
        if table.has("token") and table.has("serial"):
            table.problem("serial", "give token or serial, not both")
        elif not table.has("token") and not table.has("serial"):
            table.problem("token", "required field is missing; give token (the token's label) "
                                   "or serial")
        wrap_policy = table.choice("wrap_policy", WRAP_POLICIES, default="trusted")
        user_pin = self.pin(table, "user_pin", roles, required=True)
        so_pin = self.pin(table, "so_pin", roles, required=False)
        if wrap_policy == "trusted" and not table.has("so_pin"):
            table.problem("so_pin", 'required when wrap_policy = "trusted": the security officer '
                                    "marks the KEK trusted")
        return HsmSettings(module, token, serial, wrap_policy, user_pin, so_pin)

    def pin(self, table: Table, name: str, roles: dict[str, str], required: bool):
        value = table.raw(name, (str, dict), "a PIN source or a table", required)
        if isinstance(value, str):  # not a source: guard_pins has reported it already
            return PinSpec(source=self.resolved(pin_source(value)))
        if value is None:
            return None
        split = Table(self.problems, at(table.path, name), value, ("parts",))
        parts = split.tables("parts", ("custodian", "source"))
        if len(parts) == 1 and len(split.data["parts"]) == 1:
            split.problem("parts", "has 1 part; a split PIN needs at least two, each held by a "
                                   "different custodian")
        found, holders = [], {}
        for part in parts:
            custodian = self.custodian(part, roles, holders)
            source = part.text("source")
            if source is not None:
                parsed = pin_source(source)
                if parsed is None:
                    part.problem("source", not_a_source(split_allowed=False))
                elif parsed.kind == "pinpad":
                    part.problem("source", "pinpad cannot give one part of a split PIN: the PIN "
                                           "pad takes the whole PIN; use prompt")
                found.append(PinPart(custodian, self.resolved(parsed)))
        return PinSpec(parts=tuple(found))

    def resolved(self, source: PinSource | None) -> PinSource | None:
        """A file: PIN source relative to the plan's directory, like every path in a plan."""
        if source is not None and source.kind == "file":
            return PinSource("file", str(self.base / source.value))
        return source

    def custodian(self, part: Table, roles: dict[str, str], holders: dict[str, str]):
        name = part.text("custodian")
        if name is None:
            return None
        if name not in roles:
            known = ", ".join(roles) or "none"
            part.problem("custodian", f"{name!r} is not a participant (participants: {known})")
        elif roles[name] != "custodian":
            part.problem("custodian", f"{name!r} is a {roles[name]}, not a custodian")
        elif name in holders:
            part.problem("custodian", f"{name!r} already holds {holders[name]}")
        holders.setdefault(name, part.path)
        return name

    def keks(self) -> dict[str, KekEntry | None]:
        """Every declared KEK by name; None for one that failed its checks."""
        found: dict[str, KekEntry | None] = {}
        names: dict[str, str] = {}
        for table in self.top.tables("kek", KEK_FIELDS):
            before = len(self.problems.lines)
            name = table.unique("name", names, "name")
            file = table.file("file", self.base)
            kid = table.text("kid", required=False)
            json_path = table.file("json", self.base, required=False)
            entry = None
            if len(self.problems.lines) == before:
                try:
                    kek = load_kek(file, kid, json_path)
                    entry = KekEntry(name=name, file=file, json=json_path, kek=kek)
                except BadInputError as error:
                    field = "kid" if error.code.startswith("kek-kid") else "file"
                    table.problem(field, sentence(error))
            elif kid is not None and file is None:
                try:
                    parse_kid(kid)
                except BadInputError as error:
                    table.problem("kid", sentence(error))
            if name is not None and name not in found:
                found[name] = entry
        return found

    def keys(self, ceremony: CeremonyInfo | None, keks: dict[str, KekEntry | None]):
        workspaces = ceremony.workspaces if ceremony is not None else None
        checker = KeyChecker(self.problems, self.base, workspaces, keks)
        return checker.run(self.top.tables("key", KEY_FIELDS))

    def output(self, ceremony: CeremonyInfo | None) -> Output | None:
        table = self.top.table("output", ("directory",))
        value = table.text("directory") if table is not None else None
        if value is None:
            return None
        directory = self.base / value
        if path_is(directory, Path.exists) and not path_is(directory, Path.is_dir):
            table.problem("directory", f"{directory} is not a directory")
        elif (not self.resuming and ceremony is not None and ceremony.id
              and FILE_NAME.fullmatch(ceremony.id)
              and path_is(directory / ceremony.id, Path.exists)):
            table.problem("directory", f"{directory / ceremony.id} already exists: ceremony "
                                       f"{ceremony.id} was run there; choose a new "
                                       "ceremony.id or output.directory")
        return Output(directory)
