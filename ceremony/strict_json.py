"""JSON from outside the tool, read so that no two readers can take it differently.

A member named twice in one object is refused (Python keeps the last value, other readers the
first), and so is an integer too long for Python to convert (json.loads would raise a bare
ValueError). Both raise an `Ambiguous` whose `problem` completes "<the file> ...".
"""

from __future__ import annotations

import json


class Ambiguous(ValueError):
    """Parsed JSON that is refused; `problem` says why, to follow the file's name."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class DuplicateMember(Ambiguous):
    def __init__(self, name: str) -> None:
        super().__init__(f"has member {json.dumps(name)} twice in one object")
        self.name = name


def loads(data: bytes | str) -> object:
    """json.loads, refusing a duplicate member or an over-long integer (Ambiguous)."""
    return json.loads(data, object_pairs_hook=_unique_members, parse_int=_integer)


def _unique_members(pairs: list[tuple[str, object]]) -> dict[str, object]:
    members: dict[str, object] = {}
    for name, value in pairs:
        if name in members:
            raise DuplicateMember(name)
        members[name] = value
    return members


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # only the digit limit: the JSON grammar has already matched an integer
        raise Ambiguous(f"has an integer of {len(text.lstrip('-')):,} digits, more than "
                        "any field takes") from None
