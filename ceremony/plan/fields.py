"""Reading untrusted TOML tables field by field, collecting problems instead of raising.

A plan is reviewed by people, so one run must list every mistake: each getter here checks one
field's presence and type, records `"<path>: <what is wrong>"` when it fails and returns None,
and the caller carries on. Paths count array items from 1 (`key[2].size`). The PIN guard lives
here too because it must run over the whole document, before any field is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from ceremony.errors import BadInputError, printable
from ceremony.pins import SOURCE_FORMS, PinSource, parse_pin_source

_TYPE_NAMES = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a float"),
    (str, "a string"),
    (list, "an array"),
    (dict, "a table"),
    (datetime, "a date-time"),
    (date, "a date"),
    (time, "a time"),
)
# pin, so_pin, user_pin, sopin, user-pin, backup_pin...: any key naming a PIN.
_PIN_NAME = re.compile(r"(?:.*[_-])?(?:so|user)?pin", re.IGNORECASE)
SPLIT_FORM = "{ parts = [ { custodian = NAME, source = SOURCE }, ... ] }"
# A ceremony id and a key name become a directory and file names.
FILE_NAME = re.compile(r"(?!\.)[A-Za-z0-9._-]{1,64}")
ONE_LINE_RULE = ("plan values reach terminals, reports and the token, so write each on one line "
                 "in printable characters")
FILE_NAME_RULE = "1-64 letters, digits, '.', '_' or '-', not starting with '.'"


def type_name(value: Any) -> str:
    return next(name for kind, name in _TYPE_NAMES if isinstance(value, kind))


def at(path: str, name: str | int) -> str:
    """The path of a table's field (`key[1]` + `size`) or of an array item (1-based)."""
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def not_a_source(split_allowed: bool) -> str:
    """The refusal of a value that may be a PIN: it never shows the value."""
    forms = SOURCE_FORMS + (f", or a split PIN {SPLIT_FORM}" if split_allowed else "")
    return (
        "is not a PIN source (value not shown: a plan must never hold a PIN); "
        f"use one of {forms}"
    )


def path_is(path: Path, test: Callable[[Path], bool]) -> bool:
    """`test(path)`, False when the path cannot even be looked at (a NUL byte, too long)."""
    try:
        return test(path)
    except (OSError, ValueError):
        return False


def sentence(error: BadInputError) -> str:
    """Another check's error as one problem text: its message, then its hint."""
    return f"{error.message}. {error.hint}" if error.hint else error.message


def pin_source(text: str) -> PinSource | None:
    try:
        return parse_pin_source(text)
    except ValueError:
        return None


class Problems:
    """The problems found so far, and the paths already reported (reported once only)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.reported: set[str] = set()

    def add(self, path: str, text: str) -> None:
        """Record one problem; characters that would break the line are shown escaped."""
        self.lines.append(printable(f"{path}: {text}"))
        self.reported.add(path)

    def one_line(self, path: str, value: str) -> bool:
        """True for a value fit for a terminal, a report or a token; else report its first
        unprintable character (control, line separator, bidi control), escaped."""
        if value.isprintable():
            return True
        bad = next(char for char in value if not char.isprintable())
        self.add(path, f"contains a control character ({printable(bad)}); {ONE_LINE_RULE}")
        return False

    def guard_pins(self, value: Any, path: str = "") -> None:
        """Refuse every PIN-named key anywhere whose value is not a PIN source or a table."""
        for name, item, item_path in _walk(value, path):
            if not isinstance(name, str) or not _PIN_NAME.fullmatch(name):
                continue
            if isinstance(item, dict) or (isinstance(item, str) and pin_source(item)):
                continue
            split_allowed = item_path in ("hsm.user_pin", "hsm.so_pin")
            self.add(item_path, not_a_source(split_allowed))


def _walk(value: Any, path: str) -> Iterator[tuple[str | int, Any, str]]:
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value, start=1)
    else:
        return
    for name, item in items:
        item_path = at(path, name)
        yield name, item, item_path
        yield from _walk(item, item_path)


class Table:
    """One TOML table being read; unknown keys are reported when it is opened."""

    def __init__(self, problems: Problems, path: str, data: dict, allowed: tuple[str, ...]):
        self.problems = problems
        self.path = path
        self.data = data
        for name in data:
            if name not in allowed and at(path, name) not in problems.reported:
                problems.add(at(path, name), f"unknown key (allowed: {', '.join(allowed)})")

    def has(self, name: str) -> bool:
        return name in self.data

    def problem(self, name: str | int, text: str) -> None:
        self.problems.add(at(self.path, name), text)

    def raw(self, name: str, kinds: tuple[type, ...], what: str, required: bool) -> Any:
        """The value when present and of one of `kinds`; otherwise report and return None."""
        path = at(self.path, name)
        if path in self.problems.reported:
            return None
        if name not in self.data:
            if required:
                what = "field" if self.path else "section"
                self.problems.add(path, f"required {what} is missing")
            return None
        value = self.data[name]
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            self.problems.add(path, f"must be {what}, not {type_name(value)}")
            return None
        return value

    def text(self, name: str, required: bool = True) -> str | None:
        value = self.raw(name, (str,), "a string", required)
        if value is not None and not value.strip():
            self.problem(name, "is empty")
            return None
        if value is not None and not self.problems.one_line(at(self.path, name), value):
            return None
        return value

    def unique(self, name: str, seen: dict[str, str], what: str) -> str | None:
        """A string that no earlier table gave; `seen` maps values to the tables that gave them."""
        value = self.text(name)
        if value is not None:
            if value in seen:
                self.problem(name, f"{value!r} is already the {what} of {seen[value]}")
            else:
                seen[value] = self.path
        return value

    def file(self, name: str, base: Path, required: bool = True) -> Path | None:
        """A path relative to `base` (the plan's directory) that names an existing file."""
        value = self.text(name, required)
        if value is None:
            return None
        path = base / value
        if not path_is(path, Path.is_file):
            state = "is not a file" if path_is(path, Path.exists) else "does not exist"
            self.problem(name, f"{path} {state}")
            return None
        return path

    def integer(self, name: str, required: bool = True) -> int | None:
        return self.raw(name, (int,), "an integer", required)

    def choice(self, name: str, allowed: tuple[str, ...], default: str | None = None):
        value = self.text(name, required=default is None)
        if value is None:
            return default if not self.has(name) else None
        if value not in allowed:
            self.problem(name, f"{value!r} is not one of {', '.join(allowed)}")
            return None
        return value

    def texts(
        self, name: str, required: bool = True, allow_empty: bool = False
    ) -> tuple[str, ...] | None:
        """An array of distinct strings, non-empty unless `allow_empty`."""
        value = self.raw(name, (list,), "an array of strings", required)
        if value is None:
            return None
        if not value and not allow_empty:
            self.problem(name, "is empty")
            return None
        ok = True
        seen: set[str] = set()
        for index, item in enumerate(value, start=1):
            where = at(at(self.path, name), index)
            if not isinstance(item, str):
                self.problems.add(where, f"must be a string, not {type_name(item)}")
                ok = False
                continue
            if item in seen:
                self.problems.add(where, f"{item!r} is listed twice")
                ok = False
            elif not self.problems.one_line(where, item):
                ok = False
            seen.add(item)
        return tuple(value) if ok else None

    def tables(self, name: str, allowed: tuple[str, ...]) -> list[Table]:
        """A required, non-empty array of tables (`[[name]]`), each opened with `allowed` keys."""
        value = self.raw(name, (list,), f"an array of tables ([[{name}]])", required=True)
        if value is None:
            return []
        if not value:
            self.problem(name, "is empty")
        found = []
        for index, item in enumerate(value, start=1):
            where = at(at(self.path, name), index)
            if isinstance(item, dict):
                found.append(Table(self.problems, where, item, allowed))
            else:
                self.problems.add(where, f"must be a table, not {type_name(item)}")
        return found

    def table(self, name: str, allowed: tuple[str, ...]) -> Table | None:
        """A required table (`[name]`), opened with `allowed` keys."""
        value = self.raw(name, (dict,), f"a table ([{name}])", required=True)
        return None if value is None else Table(self.problems, at(self.path, name), value, allowed)
