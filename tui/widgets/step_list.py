"""The published step list as a checklist: done, under way, or still to come (symbol and word
in the text, so the meaning never rests on colour)."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Label

from ceremony.engine.steps import Step

DONE, CURRENT, TO_COME = "✓", "▶", "·"


class StepList(VerticalScroll):
    DEFAULT_CSS = """
    StepList Label { width: 100%; }
    StepList .current { text-style: bold reverse; }
    StepList .done { color: $text-success; }
    """

    def __init__(self, steps: tuple[Step, ...], **options) -> None:
        super().__init__(**options)
        self._steps = steps
        self._labels = self._make_labels()
        self._current: str | None = None

    def _make_labels(self) -> dict[str, Label]:
        return {step.id: Label(Text(f"{TO_COME} {step.title}")) for step in self._steps}

    def compose(self):
        yield from self._labels.values()

    def publish(self, steps: tuple[Step, ...]) -> None:
        """The engine published its steps (a resume: what is left once the journal is read)."""
        if steps == self._steps:
            return
        self._steps = steps
        self._current = None
        self.remove_children()
        self._labels = self._make_labels()
        self.mount_all(self._labels.values())

    def start(self, step_id: str) -> str | None:
        """Tick the step under way off and mark `step_id` as the current one; its title."""
        self._finish_current()
        label = self._labels.get(step_id)
        if label is None:
            return None
        self._current = step_id
        title = self._title(step_id)
        label.update(Text(f"{CURRENT} {title}"))
        label.set_class(True, "current")
        label.scroll_visible()
        return title

    def complete(self) -> None:
        """The last step is done too."""
        self._finish_current()

    def _finish_current(self) -> None:
        if self._current is None:
            return
        label = self._labels[self._current]
        label.update(Text(f"{DONE} {self._title(self._current)}"))
        label.set_class(False, "current")
        label.set_class(True, "done")
        self._current = None

    def _title(self, step_id: str) -> str:
        return next(step.title for step in self._steps if step.id == step_id)
