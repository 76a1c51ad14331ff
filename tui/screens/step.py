"""The frame every plan-building step shares: its title, its body, its problems and the keys.

A step writes what was entered into the draft when the person leaves it, backwards or
forwards. Next is refused while the plan loader reports a problem under the step's own fields
(`FIELDS`), and those problems are listed with their field path, as `ceremony plan check` words
them. F1 shows the step's `HELP`.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from tui.state import WizardState


class StepScreen(Screen):
    CSS_PATH = "step.tcss"
    NAME = ""  # the step's name, in the title line
    HELP = ""  # what F1 shows: what the step is for and what to have at hand
    FIELDS: tuple[str, ...] = ()  # plan fields this step fills in
    BINDINGS = (Binding("escape", "back", "Back"), Binding("ctrl+n", "next", "Next"))

    def __init__(self, state: WizardState, number: int, total: int) -> None:
        super().__init__()
        self.state = state
        self.number = number
        self.total = total

    def compose(self) -> ComposeResult:
        yield Label(Text(f"Step {self.number} of {self.total}: {self.NAME}"), id="step-title")
        with VerticalScroll(id="step-body", can_focus=False):
            yield from self.body()
        yield Static("", id="problems", markup=False)
        yield Footer()

    def body(self) -> ComposeResult:
        """The step's own widgets."""
        yield from ()

    def store(self) -> None:
        """Write what was entered into the draft (the state)."""

    def blockers(self) -> tuple[str, ...]:
        """What must be fixed before the next step: the loader's problems under FIELDS."""
        return self.state.check().under(*self.FIELDS)

    def show_problems(self, problems: tuple[str, ...]) -> None:
        text = "\n".join(f"✗ {problem}" for problem in problems)
        problems_box = self.query_one("#problems", Static)
        problems_box.update(Text(text))
        problems_box.display = bool(problems)

    def action_next(self) -> None:
        self.store()
        problems = self.blockers()
        self.show_problems(problems)
        if not problems:
            self.app.next_step()

    def action_back(self) -> None:
        self.store()
        self.show_problems(())
        self.app.previous_step()
