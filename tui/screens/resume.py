"""An interrupted ceremony: what its journal shows done, what a resume would do; resume or abort.

What is done and left is read as the engine reads it when it resumes (engine/survey.py: only
lines the token's ceremony signer sealed count), so the screen shows exactly what r would skip
and what it would do. r resumes and a aborts, both run by the engine on the execute screen; an
abort is irreversible, so the engine asks its typed confirmation through the operator.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from ceremony.engine.survey import Survey, survey
from ceremony.errors import CeremonyError
from ceremony.plan.model import Plan
from tui.screens.execute import ExecuteScreen
from tui.widgets.step_list import DONE, TO_COME

HELP = ("The ceremony in this directory was interrupted. Its journal says which steps are done; "
        "only lines the token's ceremony signer sealed count, and the steps after them are done "
        "again.\n\nr resumes it: the steps on the right, with the same PINs, read-backs and "
        "sign-offs as a new ceremony.\n\na aborts it: the keys it created on the token are "
        "destroyed and its BYOK packages deleted, once you type Yes. This cannot be undone; "
        "the ceremony signer stays on the token.\n\nCtrl+Q quits and leaves it as it is.")


class ResumeScreen(Screen):
    CSS_PATH: ClassVar[list[str]] = ["step.tcss", "resume.tcss"]
    NAME = "Resume or abort"
    HELP = HELP
    BINDINGS = (Binding("r", "resume", "Resume"), Binding("a", "abort", "Abort"))

    def __init__(self, plan: Plan, directory: Path, env: Mapping[str, str]) -> None:
        super().__init__()
        self._plan = plan
        self._directory = directory
        self._env = env
        self._read = False

    def compose(self) -> ComposeResult:
        yield Label(Text(f"Interrupted ceremony {self._plan.ceremony.id}"), id="step-title")
        yield Static(Text(f"Directory: {self._directory}\nPlan:      {self._plan.path}\n"
                          "Reading the journal; the token's signer checks its seals..."),
                     id="about")
        with Horizontal(id="progress"):
            with VerticalScroll(id="done", can_focus=False):
                yield Label("Done (sealed in the journal)", classes="heading")
            with VerticalScroll(id="left", can_focus=False):
                yield Label("Left: what r (resume) does", classes="heading")
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self._survey(), name="survey")

    async def _survey(self) -> None:
        try:
            found = await survey(self._plan, self._directory, self._env)
        except CeremonyError as error:
            hint = f"\nWhat to do: {error.hint}" if error.hint else ""
            self._say(f"✗ {error.message}{hint}")
        else:
            self._show(found)
        self._read = True

    def _show(self, found: Survey) -> None:
        done = [f"{DONE} {step.title}" for step in found.done]
        done += [f"{DONE} {name} signed off" for name in sorted(found.state.acknowledged)]
        self.query_one("#done").mount_all(Label(Text(line)) for line in done or ["(nothing)"])
        self.query_one("#left").mount_all(Label(Text(f"{TO_COME} {step.title}"))
                                          for step in found.left)
        if found.state.aborted:
            self._say("⚠ The journal shows this ceremony aborted: it cannot be resumed; a "
                      "finishes the abort.")
        else:
            self._say("r resumes it; a aborts it (irreversible: you will type Yes).")

    def _say(self, text: str) -> None:
        about = self.query_one("#about", Static)
        about.update(Text(f"Directory: {self._directory}\nPlan:      {self._plan.path}\n{text}"))

    def action_resume(self) -> None:
        self._go(abort=False)

    def action_abort(self) -> None:
        self._go(abort=True)

    def _go(self, abort: bool) -> None:
        if not self._read:
            self.app.bell()  # the token is in use by the survey until it is read
            return
        self.app.resume_ceremony(self._plan, self._directory, abort=abort)


class AbortScreen(ExecuteScreen):
    """The execute screen for an abort: no step list (an abort publishes none), the journal as
    it happens, and at the end how many keys were destroyed."""

    CSS_PATH: ClassVar[list[str]] = ["execute.tcss", "resume.tcss"]

    def __init__(self, ceremony_id: str) -> None:
        super().__init__(ceremony_id, ())
        self._aborting = ceremony_id

    def on_mount(self) -> None:
        self._status(f"Ceremony {self._aborting}: aborting")

    def aborted(self, outcome: int) -> None:
        """The abort ended: how many keys it destroyed."""
        self._operation(None)
        keys = "key" if outcome == 1 else "keys"
        self._status(f"✓ Ceremony {self._aborting} aborted: {outcome} {keys} destroyed. "
                     "Press Ctrl+Q to close.")
