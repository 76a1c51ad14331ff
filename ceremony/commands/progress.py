"""How the CLI shows engine events: JSON lines, plain lines, or a rich progress bar.

rich is imported only when stderr is a terminal, --json is off and nobody is prompted (a
scripted run), so scripts and the core never load it (DESIGN.md invariant 6), and a live bar
never redraws over a question or a PIN prompt; interactive runs narrate in plain lines.
"""

from __future__ import annotations

import json
import sys

from ceremony.engine.events import Event, EventKind
from ceremony.errors import printable

TRANSIENT = (EventKind.STEPS_PLANNED, EventKind.STEP_STARTED)  # for front ends; not journal lines


class Narrator:
    """`total` is the number of steps the engine published (Engine.steps); the bar moves one
    step as each starts, and a resume's own list resets it."""

    def __init__(self, as_json: bool, total: int, live: bool) -> None:
        self.as_json = as_json
        self.live = live
        self.total = total
        self._progress = None
        self._task = None

    def __enter__(self) -> Narrator:
        if self.live and not self.as_json and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            # stdout is data: the bar and narration go to stderr like every other line.
            self._progress = Progress(console=Console(stderr=True), transient=False)
            self._progress.start()
            self._task = self._progress.add_task("ceremony", total=self.total)
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def event(self, event: Event) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(event.to_json(), sort_keys=True) + "\n")
            sys.stdout.flush()
            return
        if event.kind in TRANSIENT:
            self._step(event)
            return
        prefix = "warning: " if event.kind is EventKind.WARNING else ""
        line = printable(f"[{event.seq:>3}] {prefix}{event.message}")  # one line, no escapes
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=sys.stderr, flush=True)

    def _step(self, event: Event) -> None:
        if self._progress is None:
            return
        if event.kind is EventKind.STEPS_PLANNED:
            self._progress.update(self._task, total=len(event.data["steps"]), completed=0)
        else:
            self._progress.update(self._task, advance=1, description=printable(event.message))
