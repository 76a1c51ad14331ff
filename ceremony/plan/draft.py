"""A plan being built in the wizard: the TOML's tables as plain data, checked by the plan loader.

The wizard adds no rules of its own. What a plan may hold is decided by plan/load.py, which checks
the draft's TOML exactly as `ceremony plan check` checks a file; its problems come back as the
loader's `"<field path>: <what is wrong>"` lines, and each wizard step shows the ones under its
own sections. The text is written with tomli-w, so what the wizard saves is the TOML a person
can read and rerun with `ceremony run`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from ceremony.plan.load import SECTIONS, plan_from_bytes
from ceremony.plan.model import Plan, PlanError


@dataclass(frozen=True)
class Checked:
    """What the loader made of a draft: the plan, or every problem (never both)."""

    plan: Plan | None
    problems: tuple[str, ...]

    def under(self, *fields: str) -> tuple[str, ...]:
        """The problems whose field path lies under one of `fields` (`key` holds `key[2].size`,
        `ceremony.workspaces` holds `ceremony.workspaces[1]`) or above it (a missing `ceremony`
        section is a problem of `ceremony.id`)."""
        return tuple(problem for problem in self.problems
                     if any(_within(field_of(problem), field) or _within(field, field_of(problem))
                            for field in fields))


def field_of(problem: str) -> str:
    """The field path a problem line starts with."""
    return problem.split(": ", 1)[0]


HEADER = ("# A ceremony plan made in the cmk-ceremony wizard.\n"
          "# Check it with `ceremony plan check FILE`; run it with `ceremony run FILE`\n"
          "# or `ceremony tui FILE`. Paths in it are relative to this file's folder.\n")


class Draft:
    """The plan's tables as plain data: `section(name)` for a table, `tables(name)` for an
    array of tables. Empty values are left out of the text, so a field not yet filled in is
    reported as missing, as in a file."""

    def __init__(self, data: dict | None = None) -> None:
        self.data = data if data is not None else {}

    @classmethod
    def from_plan(cls, plan: Plan) -> Draft:
        return cls(tomllib.loads(plan.text))

    def section(self, name: str) -> dict:
        return self.data.setdefault(name, {})

    def tables(self, name: str) -> list[dict]:
        return self.data.setdefault(name, [])

    def text(self) -> str:
        """The plan file: a header, then each section in the usual order, every `[[key]]` and
        `[[participant]]` as its own table as a person would write it."""
        data = _filled(self.data)
        chunks = [HEADER]
        for name in (*SECTIONS, *sorted(set(data) - set(SECTIONS))):
            value = data.get(name)
            if isinstance(value, list) and all(isinstance(item, dict) for item in value):
                chunks += [f"[[{name}]]\n{tomli_w.dumps(item)}" for item in value]
            elif value is not None:
                chunks.append(tomli_w.dumps({name: value}))
        return "\n".join(chunks)

    def check(self, path: Path) -> Checked:
        """Check the draft as the plan file `path` would be (paths relative to its folder)."""
        try:
            return Checked(plan_from_bytes(path, self.text().encode()), ())
        except PlanError as error:
            return Checked(None, error.problems)


def _within(path: str, field: str) -> bool:
    return path == field or path.startswith((f"{field}.", f"{field}["))


def _filled(value):
    """`value` without the empty strings, lists and tables under it."""
    if isinstance(value, dict):
        kept = {key: _filled(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in ("", [], {}, None)}
    if isinstance(value, list):
        kept = [_filled(item) for item in value]
        return [item for item in kept if item not in ("", [], {}, None)]
    return value
