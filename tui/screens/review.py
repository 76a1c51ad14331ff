"""Step 6, Review: the whole plan as the TOML that will be saved, its check, and Save and start.

The plan check is `ceremony plan check`'s: first the plan loader on the exact bytes that will be
saved (every problem with its field path), then the dry run on the token (found, mechanisms,
labels free, output writable), off the event loop. Only a plan that passed both is saved, with
the bytes that passed, never over an existing file; then its ceremony starts. A plan given on
the command line and not edited starts as it is, from its own file.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from ceremony.awaiting import off_loop
from ceremony.errors import CeremonyError
from ceremony.files import write_exclusive
from ceremony.plan.draft import Draft
from ceremony.plan.dry_run import check_token
from ceremony.plan.load import plan_from_bytes
from ceremony.plan.model import Plan, PlanError
from tui.screens.step import StepScreen

SETTLE = 0.3  # seconds of quiet typing in the path before the check runs again
CHECKING = "… Checking the plan and the token"


def problem_line(error: CeremonyError) -> str:
    """A dry-run problem as the step lists it: its code, what is wrong and what to do."""
    return f"{error.code}: {error.message}" + (f". {error.hint}" if error.hint else "")


def exists_line(path: Path) -> str:
    return (f"plan file: {path} already exists; type another name (the wizard never "
            "overwrites a file)")


@dataclass(frozen=True)
class _Passed:
    """The bytes to save at `path`, and the plan the loader made of them."""

    path: Path
    data: bytes
    plan: Plan | None
    given: bool  # the plan file given on the command line, unchanged: nothing to write


class ReviewScreen(StepScreen):
    CSS_PATH: ClassVar[list[str]] = ["step.tcss", "review.tcss"]
    NAME = "Review"
    HELP = (
        "The whole plan, as the TOML file the wizard saves. The plan check `ceremony plan "
        "check` makes runs here: the plan's rules, then a read-only look at the token (found, "
        "mechanisms, labels free, output writable). No PIN is read.\n\n"
        "Save and start (Ctrl+S) writes the plan file, never over an existing one, and starts "
        "the ceremony. The saved file reruns headless with `ceremony run FILE`. Paths in a "
        "plan (KEK files, the output directory) are relative to the plan file's folder.\n\n"
        "Escape goes back to edit the plan."
    )
    BINDINGS = (Binding("ctrl+s", "save", "Save and start", priority=True),
                Binding("ctrl+n", "save", show=False))

    def __init__(self, state, number: int, total: int) -> None:
        super().__init__(state, number, total)
        self._ready: _Passed | None = None
        self._typed = False  # the person typed a path: it is no longer suggested
        self._lock = asyncio.Lock()

    def body(self) -> ComposeResult:
        yield Label("Save the plan as (Enter checks it again)")
        with Horizontal(id="save-row"):
            yield Input(id="plan-path", compact=True)
            yield Button("Save and start", id="save", compact=True)
        yield Label(CHECKING, id="verdict")
        with VerticalScroll(id="plan-view"):
            yield Static("", id="plan-text", markup=False)

    def on_screen_resume(self) -> None:
        if not self._typed:
            self.state.plan_path = self._suggested()
        field = self.query_one("#plan-path", Input)
        with field.prevent(Input.Changed):
            field.value = str(self.state.plan_path)
        self._recheck(settle=0)

    def _given(self) -> Plan | None:
        """The plan given on the command line, when nothing in it was changed since."""
        plan = self.state.plan
        if plan is None or self.state.plan_path.absolute() != plan.path.absolute():
            return None
        return plan if Draft.from_plan(plan).text() == self.state.draft.text() else None

    def _suggested(self) -> Path:
        """`<folder>/<ceremony id>.plan.toml` once the id is known, for a plan made here."""
        path = self.state.plan_path
        ceremony_id = self.state.draft.section("ceremony").get("id")
        if self.state.plan is not None or not ceremony_id:
            return path
        return path.with_name(f"{ceremony_id}.plan.toml")

    def on_input_changed(self, event: Input.Changed) -> None:
        path = Path(event.value.strip() or ".").expanduser().absolute()
        if path == self.state.plan_path.absolute():
            return
        self._typed = True
        self.state.plan_path = path
        self._recheck(settle=SETTLE)

    def on_input_submitted(self) -> None:
        self._recheck(settle=0)

    def on_button_pressed(self) -> None:
        self.action_save()

    def _recheck(self, settle: float) -> None:
        self._ready = None
        self.run_worker(partial(self._check, settle), group="check", exclusive=True)

    def _verdict(self, text: str) -> None:
        self.query_one("#verdict", Label).update(Text(text))

    async def _check(self, settle: float) -> None:
        """The loader on the bytes to save, then the dry run; one check at a time, the last
        one asked for wins."""
        self._verdict(CHECKING)
        await asyncio.sleep(settle)
        async with self._lock:
            passed, problems = self._load()
            self.query_one("#plan-text", Static).update(Text(passed.data.decode()))
            if not problems:
                problems = await self._dry_run(passed.plan)
        self.show_problems(problems)
        if problems:
            self._verdict(f"✗ Not ready: {len(problems)} problem(s), listed below; "
                          "Escape goes back")
            return
        self._ready = passed
        self._verdict("✓ Ready: the plan check passes. Ctrl+S "
                      + ("starts the ceremony" if passed.given else "saves it and starts"))

    def _load(self) -> tuple[_Passed, tuple[str, ...]]:
        """The bytes to save and what the loader makes of them; a new plan file may not
        exist yet."""
        given = self._given()
        path = given.path if given else self.state.plan_path
        data = given.text.encode() if given else self.state.draft.text().encode()
        try:
            passed = _Passed(path, data, plan_from_bytes(path, data), given is not None)
        except PlanError as error:
            return _Passed(path, data, None, False), error.problems
        except CeremonyError as error:
            return _Passed(path, data, None, False), (problem_line(error),)
        if not passed.given and (path.exists() or path.is_symlink()):
            return passed, (exists_line(path),)
        return passed, ()

    async def _dry_run(self, plan: Plan) -> tuple[str, ...]:
        try:
            result = await off_loop(check_token, plan, self.state.env)
        except CeremonyError as error:
            return (problem_line(error),)
        return tuple(problem_line(problem) for problem in result.problems)

    def action_save(self) -> None:
        passed = self._ready
        if passed is None:
            self.show_problems(("plan: the plan check has not passed yet; fix what it lists, "
                                "or wait for it to finish",))
            return
        if not passed.given:
            try:
                write_exclusive(passed.path, passed.data)  # the bytes the loader checked
            except CeremonyError as error:
                self.show_problems((self._save_problem(passed.path, error),))
                return
        self.state.plan = passed.plan
        self.app.run_ceremony(passed.plan)

    @staticmethod
    def _save_problem(path: Path, error: CeremonyError) -> str:
        return exists_line(path) if error.code == "output-exists" else problem_line(error)
