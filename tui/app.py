"""The wizard: `ceremony tui` builds a plan step by step, or takes one, and runs its ceremony.

The plan-building steps (tui/screens/) share one WizardState and are kept installed, so going
back and forth loses nothing. The engine runs in an async worker on the app's own loop and is
driven only through its public contract (docs/engine.md): the published step list, the events
it emits, the operator's answers (tui/operator.py) and cancellation. Quitting asks first; a
confirmed quit cancels the worker, the engine journals `interrupted`, and the ceremony resumes
with `ceremony tui --resume DIR`.
"""

from __future__ import annotations

from contextlib import suppress

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerCancelled

from ceremony.engine.ceremony import Engine, Outcome
from ceremony.engine.events import Event
from ceremony.errors import CeremonyError
from ceremony.plan.model import Plan
from tui.operator import TuiOperator
from tui.screens.dialogs import ErrorScreen, HelpScreen, QuitScreen
from tui.screens.execute import ExecuteScreen
from tui.screens.keks import KeksScreen
from tui.screens.participants import ParticipantsScreen
from tui.screens.token import TokenScreen
from tui.screens.welcome import WelcomeScreen
from tui.state import WizardState

BUILD_STEPS = (WelcomeScreen, ParticipantsScreen, TokenScreen, KeksScreen)
QUIT_BUILDING = "Quit the wizard? Nothing has been written to the token."
QUIT_RUNNING = ("Stop the ceremony and quit? The step under way finishes, the journal records the "
                "interruption, and `ceremony tui --resume DIR` (or `ceremony abort DIR`) takes "
                "it from there.")


class WizardApp(App[None]):
    TITLE = "cmk-ceremony"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = (Binding("f1", "help", "Help"),
                Binding("ctrl+q", "quit_asking", "Quit", priority=True),
                Binding("ctrl+c", "quit_asking", "Quit", show=False, priority=True))

    def __init__(self, state: WizardState) -> None:
        super().__init__()
        self.state = state
        self.outcome: Outcome | None = None
        self.error: CeremonyError | None = None
        self.started = False
        self._step = 0
        self._worker: Worker | None = None
        self._execute: ExecuteScreen | None = None

    async def on_mount(self) -> None:
        if self.state.plan is not None:
            self.run_ceremony(self.state.plan)
            return
        for number, step in enumerate(BUILD_STEPS, 1):
            self.install_screen(step(self.state, number, len(BUILD_STEPS)), step.__name__)
        await self.push_screen(BUILD_STEPS[0].__name__)

    def next_step(self) -> None:
        self._go(self._step + 1)

    def previous_step(self) -> None:
        self._go(self._step - 1)

    def _go(self, step: int) -> None:
        if not 0 <= step < len(BUILD_STEPS):
            self.bell()
            return
        self._step = step
        self.switch_screen(BUILD_STEPS[step].__name__)

    def run_ceremony(self, plan: Plan) -> None:
        """Run the checked plan's ceremony on the execute screen."""
        engine = Engine(plan, TuiOperator(self, self.state.env), emit=self._show,
                        env=self.state.env)
        self._execute = ExecuteScreen(plan.ceremony.id, engine.steps)
        self.push_screen(self._execute)
        self.started = True
        self._worker = self.run_worker(self._run(engine), name="engine")

    async def _run(self, engine: Engine) -> None:
        try:
            self.outcome = await engine.run()
        except CeremonyError as error:
            self.error = error
            self._execute.failed(error.line())
            self.push_screen(ErrorScreen(error))
            return
        self._execute.completed(self.outcome)

    def _show(self, event: Event) -> None:
        self._execute.show(event)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        text = getattr(self.screen, "HELP", "") or "No help for this screen."
        self.push_screen(HelpScreen(f"Help: {getattr(self.screen, 'NAME', '') or self.TITLE}",
                                    text))

    def action_quit_asking(self) -> None:
        if isinstance(self.screen, QuitScreen):
            return
        if self.outcome is not None or self.error is not None:
            self.exit()
            return
        running = self._worker is not None and self._worker.is_running
        self.push_screen(QuitScreen("Quit?", QUIT_RUNNING if running else QUIT_BUILDING),
                         callback=self._quit_answered)

    async def _quit_answered(self, quit_now: bool) -> None:
        if not quit_now:
            return
        worker = self._worker
        if worker is not None and worker.is_running:
            worker.cancel()
            with suppress(WorkerCancelled):
                await worker.wait()
        self.exit()
