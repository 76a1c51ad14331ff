"""The wizard's own dialogs: F1 help, quitting, and an error the engine stopped with.

None of them answers an engine question (those are tui/screens/questions.py). Every text may
hold names people typed or a token's label, so none is read as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from ceremony.errors import CeremonyError


class _Dialog(ModalScreen):
    CSS_PATH = "dialogs.tcss"

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self._title = title
        self._text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label(Text(self._title), classes="title")
            yield Static(Text(self._text), classes="text")
        yield Footer()


class HelpScreen(_Dialog):
    """F1: what the current step is for; Escape or F1 closes it."""

    BINDINGS = (Binding("escape,f1,enter", "dismiss", "Close help"),)


class QuitScreen(_Dialog):
    """Quit or not: y dismisses with True, n or Escape with False."""

    BINDINGS = (Binding("y", "dismiss(True)", "Yes, quit"),
                Binding("n,escape", "dismiss(False)", "No, go on"))


class ErrorScreen(_Dialog):
    """What stopped the ceremony: its one line and what to do, never a traceback."""

    BINDINGS = (Binding("escape,enter", "dismiss", "Close"),)

    def __init__(self, error: CeremonyError) -> None:
        hint = f"\n\nWhat to do: {error.hint}" if error.hint else ""
        super().__init__(f"✗ Stopped ({error.code})", f"{error.message}{hint}")
