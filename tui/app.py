"""The wizard: `ceremony tui PLAN` runs the plan's ceremony on the execute screen.

The engine runs in an async worker on the app's own loop and is driven only through its public
contract (docs/engine.md): the published step list, the events it emits, the operator's answers
(tui/operator.py) and cancellation. Closing the app cancels the worker; the engine then journals
`interrupted` and the ceremony resumes with `ceremony run --resume DIR`.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerCancelled

from ceremony.engine.ceremony import Engine, Outcome
from ceremony.engine.events import Event
from ceremony.errors import CeremonyError
from ceremony.plan.model import Plan
from tui.operator import TuiOperator
from tui.screens.execute import ExecuteScreen


class WizardApp(App[None]):
    TITLE = "cmk-ceremony"
    BINDINGS = (Binding("q", "close", "Quit"),
                Binding("ctrl+c", "close", "Quit", show=False, priority=True),
                Binding("ctrl+q", "close", "Quit", show=False, priority=True))

    def __init__(self, plan: Plan, env: Mapping[str, str]) -> None:
        super().__init__()
        self.engine = Engine(plan, TuiOperator(self, env), emit=self._show, env=env)
        self.execute = ExecuteScreen(plan.ceremony.id, self.engine.steps)
        self.outcome: Outcome | None = None
        self.error: CeremonyError | None = None
        self._worker: Worker | None = None

    async def on_mount(self) -> None:
        await self.push_screen(self.execute)
        self._worker = self.run_worker(self._run(), name="engine")

    async def _run(self) -> None:
        try:
            self.outcome = await self.engine.run()
        except CeremonyError as error:
            self.error = error
            self.execute.failed(error.line())
            return
        self.execute.completed(self.outcome)

    def _show(self, event: Event) -> None:
        self.execute.show(event)

    async def action_close(self) -> None:
        """Cancel the engine if it runs (it journals `interrupted`), wait for it, then exit."""
        worker = self._worker
        if worker is not None and worker.is_running:
            worker.cancel()
            with suppress(WorkerCancelled):
                await worker.wait()
        self.exit()
