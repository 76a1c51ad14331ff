"""Step 5, Keys and features: the workspaces the keys serve, the keys, and what they cover.

Each key is edited in place: what is typed is written into the draft's `[[key]]` table at once,
so selecting another key, or leaving the step, loses nothing. After every change the plan
loader checks the draft, and the key's problems are shown beside its form in the loader's
own words (a feature the key type cannot serve, a vault that refuses it, a feature already
served): no choice is silently disabled. The coverage tab lists every Databricks data type for
the keys the loader accepts as they stand.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    ListItem,
    ListView,
    Select,
    Static,
    TabbedContent,
    TabPane,
)

from ceremony.databricks.catalog import load_catalog
from ceremony.databricks.coverage import coverage
from ceremony.keyspec import AES_SIZES, EC_CURVES, RSA_SIZES
from ceremony.plan.draft import Checked
from ceremony.plan.keys import KEY_FIELDS
from ceremony.plan.model import AFTER_EXPORT, DEFAULT_KEY_OPS, KEY_TYPES
from tui.screens.step import StepScreen
from tui.widgets.coverage_table import CoverageTable, summary

SPECS = {"rsa": RSA_SIZES, "ec": EC_CURVES, "aes": AES_SIZES}
INPUTS = ("name", "label", "azure_name", "key_ops")


def _word_ticked(box: Checkbox) -> None:
    """The ticked state in words too (the box itself shows it by colour)."""
    feature_id = box.id.removeprefix("serves-")
    box.label = Text(f"{feature_id}: ✓ ticked" if box.value else feature_id)


def new_key(kek: str) -> dict:
    """A key to fill in: generated on the token, RSA, kept there after export."""
    return {"name": "", "label": "", "origin": "generate", "type": "rsa", "size": RSA_SIZES[0],
            "kek": kek, "features": [], "azure_name": "",
            "key_ops": list(DEFAULT_KEY_OPS["rsa"]), "after_export": "keep"}


def row(title: str, *fields) -> Horizontal:
    return Horizontal(Label(title, classes="field-name"), *fields, classes="row")


class KeysScreen(StepScreen):
    CSS_PATH: ClassVar[list[str]] = ["step.tcss", "keys.tcss"]
    NAME = "Keys and features"
    FIELDS = ("key", "ceremony.workspaces")
    HELP = (
        "Workspaces: the Databricks workspaces the keys serve, by name or by resource id "
        "(/subscriptions/.../providers/Microsoft.Databricks/workspaces/NAME).\n\n"
        "Keys: each key is generated on the token and exported as a BYOK package under a KEK. "
        "Name: its file names (keys/NAME.byok). Token label: the label of the key object on "
        "the token. Azure name: the key's name in the vault. Key ops: what Azure lets the key "
        "do (the type's default suits Databricks). After export: keep the token copy, or "
        "destroy it once the package is verified. Serves: the Databricks CMK features the key "
        "protects; the CMK catalog (`ceremony catalog`) says which key types each takes.\n"
        "\nThe lines under the form are the plan check's problems with this key; the coverage "
        "tab lists what the keys protect and what stays unprotected.\n\n"
        "Keys: F2 new key; F3 the next tab (Keys, Coverage, Workspaces); in a list, Delete "
        "removes the one selected; Tab moves between fields."
    )
    BINDINGS = (Binding("f2", "new_key", "New key"),
                Binding("f3", "next_tab", "Next tab"),
                Binding("delete", "remove", "Remove"))

    def __init__(self, state, number: int, total: int) -> None:
        super().__init__(state, number, total)
        self._current: int | None = None
        self.catalog = load_catalog()

    # -- layout ---------------------------------------------------------------------------------

    def body(self) -> ComposeResult:
        with TabbedContent(initial="tab-keys", id="tabs"):
            with TabPane("Keys", id="tab-keys"):
                yield Label("", id="coverage-summary")
                with Horizontal(id="keys-split"):
                    with Vertical(id="key-side"):
                        yield ListView(id="key-list")
                        yield Button("New key (F2)", id="new-key", compact=True)
                    yield from self._form()
            with TabPane("Coverage", id="tab-coverage"):
                yield CoverageTable(id="coverage", can_focus=True)
            with TabPane("Workspaces", id="tab-workspaces"):
                yield Label("The Databricks workspaces every key serves: names or resource ids.",
                            classes="hint")
                with Horizontal(classes="row"):
                    yield Input(placeholder="workspace name or resource id", id="workspace",
                                compact=True)
                    yield Button("Add", id="add-workspace", compact=True)
                yield ListView(id="workspace-list")
                yield Static("", id="workspace-rules", markup=False)

    def _form(self) -> ComposeResult:
        with VerticalScroll(id="key-form"):
            yield Label("No keys yet: press F2 (New key).", id="no-keys", classes="hint")
            yield row("Name", Input(placeholder="file names: keys/NAME.byok", id="name",
                                    compact=True))
            yield row("Type", Select([(kind.upper(), kind) for kind in KEY_TYPES],
                                     allow_blank=False, id="type", compact=True),
                      Select([(f"{size} bits", size) for size in RSA_SIZES],
                             allow_blank=False, id="spec", compact=True))
            yield row("Token label", Input(placeholder="label on the token", id="label",
                                           compact=True))
            yield row("Azure name", Input(placeholder="key name in the vault", id="azure_name",
                                          compact=True))
            yield row("KEK", Select([], prompt="choose the KEK", id="kek", compact=True))
            yield row("Key ops", Input(id="key_ops", compact=True))
            yield row("After export", Select([(value, value) for value in AFTER_EXPORT],
                                             allow_blank=False, id="after_export", compact=True))
            yield Label("Serves (Databricks CMK features):", id="serves")
            for feature in self.catalog.features:
                yield Checkbox(Text(feature.id), id=f"serves-{feature.id}",
                               compact=True, classes="feature")
            yield Static("", id="rules", markup=False)

    # -- showing the draft ----------------------------------------------------------------------

    @property
    def _keys(self) -> list[dict]:
        return self.state.draft.tables("key")

    @property
    def _workspaces(self) -> list[str]:
        return self.state.draft.section("ceremony").setdefault("workspaces", [])

    @property
    def _kek_names(self) -> list[str]:
        return [kek["name"] for kek in self.state.draft.tables("kek") if kek.get("name")]

    async def on_screen_resume(self) -> None:
        """Shown (again): other steps may have changed the KEKs; the draft is the truth."""
        names = self._kek_names
        self.query_one("#kek", Select).set_options((name, name) for name in names)
        if self._current is None and self._keys:
            self._current = 0
        await self._list_keys()
        await self._list_workspaces()
        if not self._workspaces:
            self._show_tab("tab-workspaces")

    async def _list_keys(self) -> None:
        keys = self.query_one("#key-list", ListView)
        await keys.clear()
        await keys.extend(ListItem(Label("")) for _ in self._keys)
        keys.display = bool(self._keys)
        if self._current is not None:
            keys.index = self._current
        self._load()

    async def _list_workspaces(self) -> None:
        listed = self.query_one("#workspace-list", ListView)
        await listed.clear()
        await listed.extend(ListItem(Label(Text(workspace))) for workspace in self._workspaces)
        listed.display = bool(self._workspaces)
        listed.index = len(self._workspaces) - 1 if self._workspaces else None
        self._check()

    def _load(self) -> None:
        """Put the current key into the form (the form is hidden when there is none)."""
        editing = self._current is not None
        for widget in self.query("#key-form .row, #serves, .feature, #rules"):
            widget.display = editing
        self.query_one("#no-keys", Label).display = not editing
        if editing:
            with self.prevent(Input.Changed, Select.Changed, Checkbox.Changed):
                self._fill(self._keys[self._current])
        self._check()

    def _fill(self, key: dict) -> None:
        """The form shows `key`; showing it changes nothing in the draft."""
        for name in INPUTS:
            value = key.get(name, "")
            self.query_one(f"#{name}", Input).value = (
                ", ".join(value) if isinstance(value, list) else value)
        self.query_one("#type", Select).value = key["type"]
        self._spec_options(key["type"], key.get("curve", key.get("size")))
        self._choose("#kek", key.get("kek"), self._kek_names)
        self.query_one("#after_export", Select).value = key.get("after_export", "keep")
        for feature_id in self.catalog.feature_ids:
            box = self.query_one(f"#serves-{feature_id}", Checkbox)
            box.value = feature_id in key.get("features", ())
            _word_ticked(box)

    def _choose(self, selector: str, value, options) -> None:
        if value in options:
            self.query_one(selector, Select).value = value

    def _spec_options(self, kind: str, value) -> None:
        spec = self.query_one("#spec", Select)
        spec.set_options((f"{option} bits" if kind != "ec" else option, option)
                         for option in SPECS[kind])
        self._choose("#spec", value, SPECS[kind])

    # -- editing --------------------------------------------------------------------------------

    def _form_entry(self) -> dict:
        """The form as a `[[key]]` table, its fields in the loader's order (KEY_FIELDS); the
        fields the form does not show (origin, an import's source) are kept as they were."""
        kind = self.query_one("#type", Select).value
        kek = self.query_one("#kek", Select).value
        ops = self.query_one("#key_ops", Input).value.replace(",", " ").split()
        kept = {name: value for name, value in self._keys[self._current].items()
                if name not in ("size", "curve")}
        entry = kept | {
            "name": self.query_one("#name", Input).value.strip(),
            "label": self.query_one("#label", Input).value.strip(),
            "type": kind,
            "curve" if kind == "ec" else "size": self.query_one("#spec", Select).value,
            "kek": kek if isinstance(kek, str) else "",
            "features": [feature_id for feature_id in self.catalog.feature_ids
                         if self.query_one(f"#serves-{feature_id}", Checkbox).value],
            "azure_name": self.query_one("#azure_name", Input).value.strip(),
            "key_ops": ops,
            "after_export": self.query_one("#after_export", Select).value,
        }
        original = self._keys[self._current]
        defaults = {"after_export": "keep", "key_ops": list(DEFAULT_KEY_OPS[kind])}
        return {name: entry[name] for name in (*KEY_FIELDS, *entry) if name in entry
                and (name in original or entry[name] != defaults.get(name))}

    def _save(self) -> None:
        if self._current is not None:
            self._keys[self._current] = self._form_entry()
            self._check()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in INPUTS:
            self._save()

    def on_select_changed(self, event: Select.Changed) -> None:
        if self._current is None:
            return
        if event.select.id == "type" and event.value != self._keys[self._current]["type"]:
            self._spec_options(event.value, None)
            self.query_one("#key_ops", Input).value = ", ".join(DEFAULT_KEY_OPS[event.value])
        self._save()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        """The ticked state in words too (the box itself shows it by colour)."""
        _word_ticked(event.checkbox)
        self._save()

    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        index = event.list_view.index
        if event.list_view.id == "key-list" and index not in (None, self._current):
            self._current = index
            self._load()

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        if event.list_view.id == "key-list":
            self.query_one("#name", Input).focus()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "new-key":
            await self.action_new_key()
        else:
            await self._add_workspace()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "workspace":
            await self._add_workspace()

    async def action_new_key(self) -> None:
        names = self._kek_names
        self._keys.append(new_key(names[0] if names else ""))
        self._current = len(self._keys) - 1
        await self._list_keys()
        self._show_tab("tab-keys", "#name")

    def action_next_tab(self) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        order = [pane.id for pane in tabs.query(TabPane)]
        self._show_tab(order[(order.index(tabs.active) + 1) % len(order)])

    def _show_tab(self, pane_id: str, focus: str | None = None) -> None:
        """Show a tab and focus `focus` in it, or its first field."""
        tabs = self.query_one("#tabs", TabbedContent)
        self.set_focus(None)  # a focused widget in the pane left behind would take it back
        tabs.active = pane_id
        self.call_after_refresh(self._focus_in, tabs.active_pane, focus)

    def _focus_in(self, pane: TabPane, focus: str | None) -> None:
        focusable = [widget for widget in pane.query(focus or "*") if widget.focusable]
        if focusable:
            focusable[0].focus()

    async def _add_workspace(self) -> None:
        field = self.query_one("#workspace", Input)
        if field.value.strip():
            self._workspaces.append(field.value.strip())
            field.clear()
            await self._list_workspaces()

    async def action_remove(self) -> None:
        for listed, items in (("#key-list", self._keys), ("#workspace-list", self._workspaces)):
            view = self.query_one(listed, ListView)
            if view.has_focus and view.index is not None:
                del items[view.index]
                if listed == "#key-list":
                    self._current = min(view.index, len(items) - 1) if items else None
                    await self._list_keys()
                else:
                    await self._list_workspaces()

    # -- what the plan loader says --------------------------------------------------------------

    def _check(self) -> None:
        checked = self.state.check()
        names = self.query("#key-list Label").results(Label)
        for number, (key, label) in enumerate(zip(self._keys, names, strict=False), 1):
            mark = "✗" if checked.under(f"key[{number}]") else "✓"
            spec = f"{key.get('type', '').upper()} {key.get('size', key.get('curve', ''))}"
            label.update(Text(f"{mark} {key.get('name') or '(no name)'} {spec}"))
        if self._current is not None:
            self.query_one("#rules", Static).update(self._rules(checked, self._current + 1))
        workspace_problems = checked.under("ceremony.workspaces")
        self.query_one("#workspace-rules", Static).update(Text("\n".join(
            f"✗ {problem}" for problem in workspace_problems)))
        self._coverage(checked)

    @staticmethod
    def _rules(checked: Checked, number: int) -> Text:
        problems = checked.under(f"key[{number}]")
        if not problems:
            return Text(f"✓ key[{number}] passes the plan check", style="green")
        return Text("\n".join(f"✗ {problem}" for problem in problems), style="red")

    def _coverage(self, checked: Checked) -> None:
        """Coverage by the keys the loader accepts; the others are named, not counted."""
        assignments: dict[str, str] = {}
        notes = [f"Workspaces: {', '.join(self._workspaces) or 'none yet (Workspaces tab)'}"]
        for number, key in enumerate(self._keys, 1):
            if checked.under(f"key[{number}]"):
                notes.append(f"✗ key[{number}] {key.get('name') or '(no name)'} is not counted: "
                             "fix its problems on the Keys tab")
                continue
            for feature_id in key.get("features", ()):
                assignments.setdefault(feature_id, key["name"])
        report = coverage(self.catalog, assignments)
        self.query_one("#coverage", CoverageTable).show(report, tuple(notes))
        self.query_one("#coverage-summary", Label).update(
            Text(f"Coverage: {summary(report)}"))
