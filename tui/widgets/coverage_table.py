"""A coverage report in a scrollable panel: every Databricks data type with a symbol and a
word (✓ covered, ✗ not covered, ⊘ not coverable) and the CLI's own wording of the reason
(ceremony/databricks/render.py), so the meaning never rests on colour."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ceremony.databricks.coverage import STATUSES, CoverageReport
from ceremony.databricks.render import STATUS_HEADINGS, coverage_detail

SYMBOLS = {"covered": "✓", "not-covered": "✗", "not-coverable": "⊘"}
WORDS = {"covered": "covered", "not-covered": "not covered", "not-coverable": "not coverable"}
STYLES = {"covered": "green", "not-covered": "red", "not-coverable": "yellow"}


def summary(report: CoverageReport) -> str:
    """One line: how many data types stand in each status."""
    return " · ".join(f"{SYMBOLS[status]} {len(report.with_status(status))} {WORDS[status]}"
                      for status in STATUSES)


class CoverageTable(VerticalScroll):
    """The report, grouped by status; `notes` (lines of the caller's) go above it."""

    DEFAULT_CSS = """
    CoverageTable { height: 1fr; }
    CoverageTable > Static { width: 100%; }
    """

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self._text = Static("")
        self._plain = ""

    def compose(self):
        yield self._text

    def show(self, report: CoverageReport, notes: tuple[str, ...] = ()) -> None:
        """Show `report`: one row per data type, its status (symbol and word) in the left
        column, its name and the CLI's wording of the reason in the right one."""
        parts = [Text("\n".join((*notes, summary(report))), style="bold")]
        lines = [*notes, summary(report)]
        for status in STATUSES:
            entries = report.with_status(status)
            heading = f"{SYMBOLS[status]} {STATUS_HEADINGS[status]} ({len(entries)})"
            rows = Table.grid(padding=(0, 1))
            rows.add_column(width=len(WORDS["not-coverable"]) + 2, no_wrap=True)
            rows.add_column(ratio=1)
            for entry in entries:
                mark = f"{SYMBOLS[status]} {WORDS[status]}"
                detail = f"{entry.name}. {coverage_detail(entry)}"
                rows.add_row(Text(mark, style=STYLES[status]), Text(detail))
                lines.append(f"{mark}: {detail}")
            parts += [Text(f"\n{heading}", style="bold"), rows]
            lines.insert(len(lines) - len(entries), heading)
        self._plain = "\n".join(lines)
        self._text.update(Group(*parts))

    @property
    def plain(self) -> str:
        """What is shown, as lines of text: `✗ not covered: <name>. <detail>`."""
        return self._plain
