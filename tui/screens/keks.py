"""Step 4, KEKs: the vault's key-exchange keys, picked from the media, checked rule by rule.

A KEK file (.pem, .der, or the .json `az keyvault key show` prints) is picked from the media
directory; a .json picked after a .pem or .der is that key's JSON (plan field kek.json). The
kid is typed, or read from the JSON. Each rule of azure/kek.py is listed passing or failing as
the file and kid change; once all pass, the fingerprint is shown and the administrator confirms
it (y adds the KEK to the plan, n drops it). The KEKs added are listed; Delete removes one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DirectoryTree, Input, Label, ListItem, ListView, Static

from ceremony.awaiting import off_loop
from ceremony.azure.kek import Kek, KekCheck, RuleOutcome, check_kek
from ceremony.plan.fields import sentence
from ceremony.readback import hex_groups
from tui.screens.questions import ConfirmScreen
from tui.screens.step import StepScreen
from tui.widgets.fingerprint import Fingerprint

KEK_SUFFIXES = (".pem", ".der", ".json")
NOTHING_PICKED = "No file picked yet: pick one in the tree (arrows, Enter)."
MARKS = {True: "✓ passes", False: "✗ fails ", None: "· not checked"}


class AddKekScreen(ConfirmScreen):
    """The administrator's confirmation before a KEK goes into the plan (the engine asks again
    at the start of the ceremony)."""

    BINDINGS = (Binding("y", "answer(True)", "Yes, add it"),
                Binding("n", "answer(False)", "No, leave it out"))


class KekFiles(DirectoryTree):
    """The media directory, showing folders and KEK files only."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [path for path in paths
                if path.is_dir() or path.suffix.lower() in KEK_SUFFIXES]


def rule_lines(check: KekCheck) -> Text:
    return Text("\n".join(_rule_line(outcome) for outcome in check.outcomes))


def _rule_line(outcome: RuleOutcome) -> str:
    line = f"{MARKS[outcome.passed]}  {outcome.rule}"
    return f"{line}: {sentence(outcome.error)}" if outcome.error is not None else line


class KeksScreen(StepScreen):
    CSS_PATH: ClassVar[list[str]] = ["step.tcss", "keks.tcss"]
    NAME = "KEKs"
    FIELDS = ("kek",)
    HELP = (
        "A KEK is the vault's key-exchange key: every key is exported encrypted to it. Bring "
        "it from the online workstation on the media: `az keyvault key download --encoding PEM` "
        "(a .pem) and `az keyvault key show` (a .json, which carries the kid).\n\n"
        "Pick the file in the tree (arrows, Enter); a .json picked after a .pem is the same "
        "key's JSON. Type the kid unless the JSON gives it. Each rule is checked as you go. "
        "When all pass, press Enter in the name field (or Add): the administrator compares the "
        "fingerprint with the one noted online and presses y to add the KEK, n to drop it.\n\n"
        "In the list of KEKs added, Delete removes the one selected."
    )
    BINDINGS = (Binding("delete", "remove", "Remove selected"),)

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.file: Path | None = None
        self.json: Path | None = None
        self.kek: Kek | None = None
        self._default_name = ""

    def body(self) -> ComposeResult:
        yield Label(Text(f"KEK files on {self.state.media} (.pem, .der, .json):"),
                    classes="hint")
        yield KekFiles(self.state.media, id="files")
        yield Label(NOTHING_PICKED, id="picked", markup=False)
        with Horizontal(classes="row"):
            yield Label("Kid ")
            yield Input(placeholder="https://VAULT.vault.azure.net/keys/NAME/VERSION",
                        id="kid", compact=True)
        with Horizontal(classes="row"):
            yield Label("KEK name ")
            yield Input(placeholder="the vault name, from the kid", id="kek-name",
                        compact=True)
            yield Button("Add", id="add-kek", compact=True)
        yield Label("KEKs in the plan:", id="added-title")
        yield ListView(id="added")
        yield Static("", id="rules", markup=False)
        yield Vertical(id="kek-fingerprint")

    def on_mount(self) -> None:
        self._show_added()
        self._show_check(None)
        self.query_one("#files").focus()

    @property
    def _keks(self) -> list[dict]:
        return self.state.draft.tables("kek")

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        path = event.path.resolve()
        if path.suffix.lower() == ".json" and self.file is not None \
                and self.file.suffix.lower() != ".json":
            self.json = path
        else:
            self.file, self.json = path, None
        picked = f"File: {self.file}" + (f"\nJSON: {self.json}" if self.json else "")
        self.query_one("#picked", Label).update(picked)
        self.show_problems(())
        self.evaluate()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "kid":
            self.evaluate()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_add()

    def on_button_pressed(self) -> None:
        self.action_add()

    @work(exclusive=True, group="kek-check")
    async def evaluate(self) -> None:
        if self.file is None:
            return
        kid = self.query_one("#kid", Input).value.strip() or None
        check = await off_loop(check_kek, self.file, kid, self.json)
        self._show_check(check)

    def _show_check(self, check: KekCheck | None) -> None:
        rules = self.query_one("#rules", Static)
        rules.update(rule_lines(check) if check is not None else "")
        rules.display = check is not None
        self.kek = check.kek if check is not None else None
        box = self.query_one("#kek-fingerprint", Vertical)
        box.remove_children()
        box.display = self.kek is not None
        if self.kek is not None:
            box.mount(Fingerprint(hex_groups(bytes.fromhex(self.kek.fingerprint)),
                                  self.kek.pgp_words))
            self._name_default(self.kek.kid.vault_name)

    def _name_default(self, vault: str) -> None:
        field = self.query_one("#kek-name", Input)
        if field.value in ("", self._default_name):
            field.value = vault
        self._default_name = vault

    def action_add(self) -> None:
        if self.kek is None:
            self.show_problems(("kek: pick a KEK file whose rules all pass before adding it",))
            return
        name = self.query_one("#kek-name", Input).value.strip()
        kek = self.kek
        self.app.push_screen(AddKekScreen(
            f"KEK {name}", kek.kid.url, hex_groups(bytes.fromhex(kek.fingerprint)),
            kek.pgp_words,
            f"{self._administrator()}, compare this with the KEK fingerprint noted on the "
            "online workstation. Add this KEK to the plan?"),
            callback=lambda yes: self._confirmed(yes, name, kek))

    def _administrator(self) -> str:
        names = [person.get("name") for person in self.state.draft.tables("participant")
                 if person.get("role") == "administrator"]
        return names[0] if names else "Administrator"

    def _confirmed(self, yes: bool, name: str, kek: Kek) -> None:
        if not yes:
            self.show_problems((f"kek: {name} was not added: the administrator did not "
                                "confirm its fingerprint",))
            return
        kid = self.query_one("#kid", Input)
        self._keks.append({"name": name, "file": str(self.file), "kid": kid.value.strip(),
                           "json": str(self.json) if self.json else ""})
        self.show_problems(())
        self._show_added()
        self.file = self.json = None  # ready for the next KEK
        self.query_one("#picked", Label).update(NOTHING_PICKED)
        kid.clear()
        self.query_one("#kek-name", Input).clear()
        self._show_check(None)
        self.query_one("#files").focus()

    def _show_added(self) -> None:
        added = self.query_one("#added", ListView)
        added.clear()
        added.extend(ListItem(Label(Text(_added_line(entry)))) for entry in self._keks)
        added.call_after_refresh(setattr, added, "index", 0 if self._keks else None)
        added.display = bool(self._keks)
        self.query_one("#added-title").display = bool(self._keks)

    def action_remove(self) -> None:
        added = self.query_one("#added", ListView)
        if added.has_focus and added.index is not None:
            del self._keks[added.index]
            self._show_added()


def _added_line(entry: dict) -> str:
    kid = entry.get("kid") or f"kid from {Path(entry.get('json') or entry.get('file', '')).name}"
    return f"✓ confirmed  {entry.get('name', '')}  {kid}"
