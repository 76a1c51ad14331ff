"""Step 1, Welcome: what will happen, what to have at hand, and the ceremony's name and purpose.

A rehearsal banner says so when the PKCS#11 module is SoftHSM2 (a software token): its packages
must never reach a production vault.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static

from ceremony.engine.replay import plan_of
from ceremony.errors import BadInputError, CeremonyError
from ceremony.hsm.module import find_module, software_token
from ceremony.layout import CeremonyDir
from tui.screens.step import StepScreen

WHAT_HAPPENS = (
    "This wizard builds the ceremony plan with you, checks and saves it, then runs the "
    "ceremony on the HSM token: each key is generated there, exported as a BYOK package for "
    "Azure, and every step is written to a signed record.\n\n"
    "Have at hand: the KEK files from the vault and their kids; the PIN holders (the user "
    "PIN, the custodians of the SO PIN parts); the administrator, custodians and witnesses; "
    "the paper log."
)

REHEARSAL = ("⚠ REHEARSAL: the PKCS#11 module is SoftHSM2, a software token. Its packages are "
             "for rehearsal only; never import them into a production vault.")


def rehearsal_module(env) -> bool:
    """True when the module the ceremony would load is SoftHSM2."""
    try:
        return software_token(find_module(None, env).name)
    except BadInputError:
        return False


class WelcomeScreen(StepScreen):
    CSS_PATH: ClassVar[list[str]] = ["step.tcss", "welcome.tcss"]
    NAME = "Welcome"
    FIELDS = ("ceremony.id", "ceremony.purpose", "output")
    HELP = (
        "The ceremony id names the directory the ceremony writes (1-64 letters, digits, '.', "
        "'_' or '-'), under the output directory. The purpose is written into the record and "
        "the report.\n\nKeys: Tab moves between fields, Ctrl+N goes to the next step, Escape "
        "back, Ctrl+Q quits (it asks first)."
    )

    def body(self) -> ComposeResult:
        if rehearsal_module(self.state.env):
            yield Label(Text(REHEARSAL), id="rehearsal")
        yield Static(Text(WHAT_HAPPENS), id="what-happens")
        ceremony = self.state.draft.section("ceremony")
        output = self.state.draft.section("output")
        with Horizontal(classes="row"):
            yield Label("Ceremony id")
            yield Input(ceremony.get("id", ""), id="id", compact=True,
                        placeholder="names its directory, e.g. 2026-q4-databricks-cmk")
        with Horizontal(classes="row"):
            yield Label("Purpose")
            yield Input(ceremony.get("purpose", ""), id="purpose", compact=True,
                        placeholder="e.g. CMK for the analytics workspaces")
        with Horizontal(classes="row"):
            yield Label("Output in")
            yield Input(output.get("directory", "ceremonies"), id="directory", compact=True,
                        placeholder="a folder, relative to the plan file's folder")
        yield Label("", id="where", classes="hint")

    def on_mount(self) -> None:
        self._where()

    def on_input_changed(self) -> None:
        self._where()

    def _where(self) -> None:
        value = self.query_one("#directory", Input).value
        ceremony_id = self.query_one("#id", Input).value or "<id>"
        place = self.state.plan_path.parent / Path(value or ".") / ceremony_id
        self.query_one("#where", Label).update(Text(f"The ceremony will write {place}/"))

    def _ceremony_dir(self) -> Path | None:
        ceremony_id = self.query_one("#id", Input).value.strip()
        if not ceremony_id:
            return None
        return (self.state.plan_path.parent
                / Path(self.query_one("#directory", Input).value.strip() or ".") / ceremony_id)

    def action_next(self) -> None:
        """A ceremony already in the directory named is opened, to resume, abort or verify it,
        instead of refusing the name."""
        existing = self._ceremony_dir()
        if existing is None or not CeremonyDir(existing).journal.is_file():
            super().action_next()
            return
        self.store()
        try:
            self.state.plan = plan_of(existing)
        except CeremonyError as error:
            self.show_problems((f"output.directory: {existing} holds a ceremony whose plan "
                                f"cannot be read: {error.message}. {error.hint}",))
            return
        self.app.open_directory(existing)

    def store(self) -> None:
        ceremony = self.state.draft.section("ceremony")
        for name in ("id", "purpose"):
            ceremony[name] = self.query_one(f"#{name}", Input).value.strip()
        self.state.draft.section("output")["directory"] = (
            self.query_one("#directory", Input).value.strip())
