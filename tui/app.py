"""The wizard: `ceremony tui` builds a plan step by step, or takes one, and runs its ceremony.

The plan-building steps (tui/screens/) share one WizardState and are kept installed, so going
back and forth loses nothing. The engine runs in an async worker on the app's own loop and is
driven only through its public contract (docs/engine.md): the published step list, the events
it emits, the operator's answers (tui/operator.py) and cancellation. Quitting asks first; a
confirmed quit cancels the worker, the engine journals `interrupted`, and the ceremony resumes
with `ceremony tui --resume DIR`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerCancelled

from ceremony.engine.ceremony import Engine, Outcome
from ceremony.engine.events import Event
from ceremony.errors import CeremonyError
from ceremony.layout import CeremonyDir
from ceremony.plan.draft import Draft
from ceremony.plan.model import Plan
from ceremony.record.verify import VerifyReport
from tui.operator import TuiOperator
from tui.screens.dialogs import ErrorScreen, HelpScreen, QuitScreen
from tui.screens.done import DoneScreen
from tui.screens.execute import ExecuteScreen
from tui.screens.keks import KeksScreen
from tui.screens.keys import KeysScreen
from tui.screens.participants import ParticipantsScreen
from tui.screens.resume import AbortScreen, ResumeScreen
from tui.screens.review import ReviewScreen
from tui.screens.token import TokenScreen
from tui.screens.verify import VerifyScreen
from tui.screens.welcome import WelcomeScreen
from tui.state import WizardState

BUILD_STEPS = (WelcomeScreen, ParticipantsScreen, TokenScreen, KeksScreen, KeysScreen,
               ReviewScreen)
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

    def __init__(self, state: WizardState, directory: Path | None = None,
                 verifying: bool = False) -> None:
        """`directory`: a ceremony directory to resume, abort or verify (`verifying`)."""
        super().__init__()
        self.state = state
        self.directory = directory
        self.verifying = verifying
        self.outcome: Outcome | int | None = None  # an abort's outcome: the keys destroyed
        self.verification: VerifyReport | CeremonyError | None = None
        self.error: CeremonyError | None = None
        self._step = 0
        self._worker: Worker | None = None
        self._execute: ExecuteScreen | None = None

    @property
    def started(self) -> bool:
        """The engine was started (a run, resume or abort), whether or not it has ended."""
        return self._worker is not None

    async def on_mount(self) -> None:
        if self.directory is not None:
            self.open_directory(self.directory)
            return
        if self.state.plan is not None:  # a plan given: its review, the earlier steps behind it
            self.state.draft = Draft.from_plan(self.state.plan)
            self.state.plan_path = self.state.plan.path
            self._step = len(BUILD_STEPS) - 1
        for number, step in enumerate(BUILD_STEPS, 1):
            self.install_screen(step(self.state, number, len(BUILD_STEPS)), step.__name__)
        await self.push_screen(BUILD_STEPS[self._step].__name__)

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

    def open_directory(self, directory: Path) -> None:
        """A ceremony directory: verify it when asked or finished, else offer resume or abort
        (self.state.plan is its plan)."""
        self.directory = directory
        if self.verifying or CeremonyDir(directory).record.is_file():
            self.push_screen(VerifyScreen(directory, finished=not self.verifying))
        else:
            self.push_screen(ResumeScreen(self.state.plan, directory, self.state.env))

    def run_ceremony(self, plan: Plan) -> None:
        """Run the checked plan's ceremony on the execute screen."""
        engine = self._engine(plan, None)
        self.directory = plan.ceremony_dir
        self._start(engine.run(), ExecuteScreen(plan.ceremony.id, engine.steps), self._done)

    def resume_ceremony(self, plan: Plan, directory: Path, abort: bool = False) -> None:
        """Resume (or abort) the interrupted ceremony in `directory` on the execute screen."""
        engine = self._engine(plan, directory)
        if abort:
            screen = AbortScreen(plan.ceremony.id)
            self._start(engine.abort(), screen, screen.aborted)
        else:
            self._start(engine.resume(), ExecuteScreen(plan.ceremony.id, engine.steps),
                        self._done)

    def _engine(self, plan: Plan, directory: Path | None) -> Engine:
        return Engine(plan, TuiOperator(self, self.state.env), emit=self._show,
                      env=self.state.env, directory=directory)

    def _start(self, work: Awaitable, screen: ExecuteScreen, then: Callable) -> None:
        """Run `work` (the engine's run, resume or abort) on `screen`; `then` gets its outcome."""
        self._execute = screen
        self.push_screen(screen)
        self._worker = self.run_worker(self._run(work, then), name="engine")

    async def _run(self, work: Awaitable, then: Callable) -> None:
        try:
            self.outcome = await work
        except CeremonyError as error:
            self.error = error
            self._execute.failed(error.line())
            self.push_screen(ErrorScreen(error))
            return
        then(self.outcome)

    def _done(self, outcome: Outcome) -> None:
        self._execute.completed()
        self.push_screen(DoneScreen(outcome))

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
