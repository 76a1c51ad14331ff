"""What a plan's keys will protect, per workspace: the plan's side of the coverage report.

Coverage belongs to a workspace (each has its own three CMK settings), but most ceremonies give
every workspace the same keys, and one report per workspace would repeat itself. So workspaces
whose features are served by the same keys share one report; the common plan gives one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ceremony.databricks.catalog import load_catalog
from ceremony.databricks.coverage import CoverageReport, coverage
from ceremony.plan.model import Plan


@dataclass(frozen=True)
class WorkspaceCoverage:
    """The coverage shared by `workspaces`: each feature maps to the key serving it there."""

    workspaces: tuple[str, ...]
    report: CoverageReport

    def to_json(self) -> dict:
        return {"workspaces": list(self.workspaces), **self.report.to_json()}


def coverage_for(plan: Plan) -> tuple[WorkspaceCoverage, ...]:
    """One report per distinct set of (feature, key name), workspaces in the plan's order."""
    groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
    served = [(key, set(key.workspaces)) for key in plan.keys]  # linear in the workspaces
    for workspace in plan.ceremony.workspaces:
        assignments = tuple(
            sorted(
                (feature, key.name)
                for key, workspaces in served
                if workspace in workspaces
                for feature in key.features
            )
        )
        groups.setdefault(assignments, []).append(workspace)
    catalog = load_catalog()
    return tuple(
        WorkspaceCoverage(tuple(workspaces), coverage(catalog, dict(assignments)))
        for assignments, workspaces in groups.items()
    )
