"""What the wizard's steps share: the plan being built, where it will be saved, where things are.

Every step reads its fields from the draft when it is shown and writes them back when the
person leaves it (back or next), so nothing typed is lost by going back and forth. The rules
are the plan loader's: `check()` is the check `ceremony plan check` makes of a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ceremony.plan.draft import Checked, Draft
from ceremony.plan.model import Plan


@dataclass
class WizardState:
    env: Mapping[str, str]
    media: Path  # where the KEK picker starts: the removable media brought from the vault
    plan_path: Path  # where the review saves the plan; paths in the plan are relative to it
    draft: Draft = field(default_factory=Draft)
    plan: Plan | None = None  # the checked plan the ceremony runs, once saved (or given)

    def check(self) -> Checked:
        return self.draft.check(self.plan_path)
