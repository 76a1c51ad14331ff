"""The modal questions the engine's operator asks (tui/operator.py): each returns an answer.

ConfirmScreen shows a fingerprint and returns True or False; TypedScreen returns the text typed
(a name, or the word "Yes"); PinScreen returns the PIN as a SecretPin, held to the rules of every
PIN source by pins.accept_pin. What an answer means is the engine's to decide. Every text here
may hold names people typed or a token's own label, so none is read as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label

from ceremony.errors import CeremonyError
from ceremony.pins import PinSource, accept_pin
from ceremony.secret import SecretPin
from tui.widgets.fingerprint import Fingerprint, LargeHex
from tui.widgets.pin_field import PinField


class ConfirmScreen(ModalScreen[bool]):
    """A fingerprint to compare, and Yes or No."""

    CSS_PATH = "questions.tcss"
    NAME = "Compare a fingerprint"
    HELP = ("Read the groups and the words aloud and compare them, one by one, with the paper "
            "log or the value noted on the online workstation. y: every group matches. n: "
            "something differs; the ceremony stops and nothing is exported. l: the hex in "
            "large type, for reading across the room (l again: back to hex and words).")
    AUTO_FOCUS = ""  # Enter confirms nothing: the person presses y or n, or picks a button
    BINDINGS = (Binding("y", "answer(True)", "Yes, they match"),
                Binding("n", "answer(False)", "No, stop"),
                Binding("l", "large", "Large type"))

    def __init__(self, title: str, detail: str, value: str, words: list[str],
                 question: str) -> None:
        super().__init__()
        self._parts = (title, detail, value, words, question)

    def compose(self) -> ComposeResult:
        title, detail, value, words, question = self._parts
        with Vertical(classes="dialog"):
            yield Label(Text(title), classes="title")
            if detail:
                yield Label(Text(detail), classes="detail")
            yield Fingerprint(value, words)
            yield LargeHex(value)
            yield Label(Text(question), classes="question")
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="yes", variant="success", compact=True)
                yield Button("No (n)", id="no", variant="error", compact=True)
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def on_mount(self) -> None:
        self.query_one(LargeHex).display = False

    def action_large(self) -> None:
        """The hex in large type instead of the rows of hex and words, or back."""
        large = self.query_one(LargeHex)
        large.display = not large.display
        self.query_one(Fingerprint).display = not large.display

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class TypedScreen(ModalScreen[str]):
    """A statement, a question, and a line to type the answer in (Enter gives it)."""

    CSS_PATH = "questions.tcss"
    NAME = "Sign off or confirm"
    HELP = ("A sign-off: the person named types their own name, exactly as in the plan, and "
            "presses Enter; it is recorded. An irreversible step: type Yes and Enter to go on; "
            "anything else stops the ceremony.")

    def __init__(self, statement: str, question: str) -> None:
        super().__init__()
        self._statement = statement
        self._question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            if self._statement:
                yield Label(Text(self._statement), classes="detail")
            yield Label(Text(self._question), classes="question")
            yield Input()
        yield Footer()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())


class PinScreen(ModalScreen[SecretPin]):
    """A masked field for one PIN; a PIN the rules refuse is said why and asked again."""

    CSS_PATH = "questions.tcss"
    NAME = "PIN"
    HELP = ("Only the PIN holder looks at the keyboard. The PIN is never shown, and copy, cut "
            "and paste are refused. A split PIN is typed part by part, each part by the "
            "custodian who holds it. A wrong PIN is refused by the token, which counts the "
            "tries: the wizard warns before the final one.")

    def __init__(self, who: str, source: PinSource) -> None:
        super().__init__()
        self._who = who
        self._source = source

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(f"PIN for {self._who}"), classes="title")
            yield Label(Text("Only the PIN holder looks at the keyboard. Type the PIN and "
                             "press Enter; it is never shown."), classes="detail")
            yield PinField()
            yield Label("", classes="problem")
        yield Footer()

    def on_pin_field_refused(self) -> None:
        self._problem("Type the PIN: copying, cutting and pasting a PIN are refused")

    def _problem(self, text: str) -> None:
        self.query_one(".problem", Label).update(Text(text))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        field = event.input
        try:
            pin = accept_pin(field.value, self._source, self._who)
        except CeremonyError as refused:
            field.clear()
            self._problem(refused.message)
            return
        field.clear()
        self.dismiss(pin)
