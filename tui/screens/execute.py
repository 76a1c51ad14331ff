"""The execute step: the published step list ticked off on the left, the journal on the right."""

from __future__ import annotations

from time import monotonic

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Label, RichLog

from ceremony.engine.events import Event, EventKind
from ceremony.engine.steps import Step
from tui.widgets.step_list import StepList


class ExecuteScreen(Screen):
    CSS_PATH = "execute.tcss"
    NAME = "The ceremony"
    HELP = ("The ceremony runs on the token. Left: its steps (✓ done, ▶ under way, · to come). "
            "Right: the journal, each line written to journal.jsonl before it is shown. The "
            "line under the title says what the HSM is doing and for how long.\n\n"
            "Questions (fingerprints to compare, PINs, sign-offs) open as dialogs. Ctrl+Q "
            "stops the ceremony, after asking: the step under way finishes, the journal "
            "records the interruption, and `ceremony tui --resume DIR` takes it from there.")

    def __init__(self, ceremony_id: str, steps: tuple[Step, ...]) -> None:
        super().__init__()
        self._ceremony_id = ceremony_id
        self._steps = steps
        self._clock: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Label(Text(f"Ceremony {self._ceremony_id}: running"), id="status")
        yield Label("", id="operation")
        with Horizontal():
            yield StepList(self._steps, id="steps")
            yield RichLog(id="journal", wrap=True, markup=False, min_width=20)
        yield Footer()

    def show(self, event: Event) -> None:
        """A step under way is marked; every journaled event is one line of the journal."""
        if event.kind == EventKind.STEPS_PLANNED:
            self.query_one(StepList).publish(tuple(Step(**step) for step in event.payload.steps))
        elif event.kind == EventKind.STEP_STARTED:
            title = self.query_one(StepList).start(event.payload.step)
            self._operation(title)
        elif event.seq:
            self._write(event.message)

    def completed(self) -> None:
        """Every step ticked; what the ceremony left is the Done screen's."""
        self.query_one(StepList).complete()
        self._operation(None)
        self._status(f"✓ Ceremony {self._ceremony_id} completed")

    def _operation(self, title: str | None) -> None:
        """Under way: the step's title and the seconds it has taken, ticking while the HSM works
        (the clock moving shows the screen is alive)."""
        if self._clock is not None:
            self._clock.stop()
            self._clock = None
        label = self.query_one("#operation", Label)
        label.display = title is not None
        if title is None:
            return
        started = monotonic()

        def tick() -> None:
            label.update(Text(f"▶ Now: {title} ({monotonic() - started:.0f} s)"))

        tick()
        self._clock = self.set_interval(1, tick)

    def failed(self, line: str) -> None:
        self._operation(None)
        self._status(f"✗ Ceremony {self._ceremony_id} stopped. Press Ctrl+Q to close.")
        self._write(line)

    def _status(self, text: str) -> None:
        self.query_one("#status", Label).update(Text(text))

    def _write(self, text: str) -> None:
        self.query_one(RichLog).write(Text(text))
