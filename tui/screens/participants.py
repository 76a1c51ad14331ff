"""Step 2, Participants: one administrator, two or more custodians, any witnesses.

People are added with a name and a role and listed as they are added; Delete removes the one
selected. The plan loader decides what is enough (exactly one administrator, two custodians at
least, no name twice) and its problems hold the next step.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, ListItem, ListView, Select

from ceremony.plan.model import ROLES
from tui.screens.step import StepScreen


class ParticipantsScreen(StepScreen):
    CSS_PATH: ClassVar[list[str]] = ["step.tcss", "participants.tcss"]
    NAME = "Participants"
    FIELDS = ("participant",)
    AUTO_FOCUS = "#name"
    HELP = (
        "Everyone who takes part is named in the record.\n\n"
        "  administrator  exactly one: confirms each KEK and signs off the ceremony\n"
        "  custodian      two or more: each can hold a part of a split PIN and confirms\n"
        "                 each key's read-back\n"
        "  witness        any number: watches and signs off by typing their name\n\n"
        "Type a name, pick the role, press Enter (or the Add button). In the list, Delete "
        "removes the person selected."
    )
    BINDINGS = (Binding("delete", "remove", "Remove selected"),)

    def body(self) -> ComposeResult:
        yield Label("One administrator, two or more custodians, and any witnesses.",
                    classes="hint")
        yield ListView(id="people")
        with Horizontal(id="add"):
            yield Input(placeholder="Full name", id="name", compact=True)
            yield Select([(role, role) for role in ROLES], value="custodian",
                         allow_blank=False, id="role", compact=True)
            yield Button("Add", id="add-person", compact=True)

    def on_mount(self) -> None:
        self._refresh()

    @property
    def _people(self) -> list[dict]:
        return self.state.draft.tables("participant")

    def _refresh(self) -> None:
        people = self.query_one("#people", ListView)
        people.clear()
        people.extend(ListItem(Label(Text(f"{person['name']} ({person['role']})")))
                      for person in self._people)
        people.display = bool(self._people)

    def on_input_submitted(self) -> None:
        self._add()

    def on_button_pressed(self) -> None:
        self._add()

    def _add(self) -> None:
        field = self.query_one("#name", Input)
        name = field.value.strip()
        if not name:
            self.show_problems(("participant: type a name before adding",))
            return
        role = self.query_one("#role", Select)
        self._people.append({"name": name, "role": role.value})
        role.value = "custodian"  # the role most people in the room hold
        field.clear()
        field.focus()
        self.show_problems(())
        self._refresh()

    def action_remove(self) -> None:
        index = self.query_one("#people", ListView).index
        if self.query_one("#people", ListView).has_focus and index is not None:
            del self._people[index]
            self._refresh()
