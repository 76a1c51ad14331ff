"""Step 3, Token: the PKCS#11 module, the tokens it offers, the wrap policy and the PIN sources.

Each token is listed with its identity, its decoded flags and its warnings in words (a PIN count
low, a final try, a locked PIN, a token another ceremony process holds); the one highlighted is
the one chosen. The list comes from the core (hsm/present.py), read off the event loop. The SO
PIN is typed whole by the security officer or split between two or more custodians, each typing
a part in the order listed.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Label, OptionList, Select, SelectionList
from textual.widgets.option_list import Option

from ceremony.awaiting import off_loop
from ceremony.documents.report import WRAP_POLICIES
from ceremony.errors import CeremonyError
from ceremony.hsm.module import find_module, software_token
from ceremony.hsm.present import PresentToken, present_tokens
from ceremony.plan.fields import sentence
from tui.screens.step import StepScreen

REHEARSAL = ("⚠ REHEARSAL: this token is SoftHSM, a software token. Its packages are for "
             "rehearsal only; never import them into a production vault.")
NO_TOKEN = ("✗ No initialised token on {module}. Initialise one (SoftHSM: softhsm2-util "
            "--init-token --free --label NAME), or plug in the HSM; then press F5.")
SPLIT = "split"


def token_lines(token: PresentToken) -> Text:
    """A token as listed: identity, flags, then each warning on its own line."""
    info = token.info
    text = Text(f"{info.label}  serial {info.serial}\n{info.manufacturer}, {info.model}, "
                f"firmware {info.firmware_version}\nflags: {', '.join(info.flags) or 'none'}")
    for warning in token.warnings:
        text.append(f"\n⚠ {warning}")
    return text


class TokenScreen(StepScreen):
    CSS_PATH: ClassVar[list[str]] = ["step.tcss", "token.tcss"]
    NAME = "Token"
    FIELDS = ("hsm",)
    HELP = (
        "Choose the HSM token the keys are made on (move with the arrow keys in the list; the "
        "one highlighted is chosen). Its warnings come first: a PIN whose count is low or on "
        "its final try, a locked PIN, a token another ceremony holds.\n\n"
        "Wrap policy: trusted (each key can be wrapped only by a KEK the security officer "
        "marks trusted; needs the SO PIN) or extractable.\n\n"
        "PIN sources: prompt (typed in a masked field), pinpad, fd:N, file:PATH, env:NAME, "
        "keyring:SERVICE/USERNAME. The SO PIN can be split: each custodian ticked (Space) "
        "types one part, in the order listed.\n\n"
        "Keys: Enter in the module field or F5 lists the tokens again."
    )
    BINDINGS = (Binding("f5", "rescan", "Rescan tokens"),)

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.tokens: list[PresentToken] = []

    @property
    def _hsm(self) -> dict:
        return self.state.draft.section("hsm")

    def body(self) -> ComposeResult:
        hsm = self._hsm
        yield Label(Text(REHEARSAL), id="token-rehearsal")
        with Horizontal(classes="row"):
            yield Label("Module ")
            yield Input(hsm.get("module", ""), placeholder=self._default_module(),
                        id="module", compact=True)
        yield Label("Listing the tokens...", id="token-status", markup=False)
        yield OptionList(id="tokens")
        yield Label("", id="chosen", markup=False)
        with Horizontal(classes="row"):
            yield Label("Wrap policy ")
            yield Select([(name, name) for name in WRAP_POLICIES], allow_blank=False,
                         value=hsm.get("wrap_policy", "trusted"), id="wrap-policy",
                         compact=True)
        yield Label("", id="policy-meaning", classes="hint", markup=False)
        with Horizontal(classes="row"):
            yield Label("User PIN ")
            yield Input(_text(hsm.get("user_pin"), "prompt"), id="user-pin", compact=True)
        with Horizontal(classes="row", id="so-row"):
            yield Label("SO PIN ")
            yield Select(self._so_choices(), allow_blank=False, value=self._so_choice(),
                         id="so-pin", compact=True)
        yield Label("Tick (Space) two or more custodians; each types one part, in this order.",
                    id="so-hint", classes="hint")
        yield SelectionList[str](id="so-custodians")

    def _default_module(self) -> str:
        try:
            return str(find_module(None, self.state.env))
        except CeremonyError:
            return "no default module found: type the path of the PKCS#11 library"

    def _so_choices(self) -> list[tuple[str, str]]:
        choices = [("prompt: the security officer types it", "prompt"),
                   ("split between custodians", SPLIT)]
        held = self._hsm.get("so_pin")
        if isinstance(held, str) and held not in ("prompt", ""):
            choices.append((held, held))
        return choices

    def _so_choice(self) -> str:
        held = self._hsm.get("so_pin", "prompt")
        return SPLIT if isinstance(held, dict) else held or "prompt"

    def on_mount(self) -> None:
        self._policy_changed()
        self.rescan()

    def on_screen_resume(self) -> None:
        self._custodians()

    def _custodians(self) -> None:
        """The custodians of the participants step, those holding a part ticked."""
        held = self._hsm.get("so_pin")
        chosen = ({part.get("custodian") for part in held.get("parts", [])}
                  if isinstance(held, dict) else set())
        box = self.query_one("#so-custodians", SelectionList)
        ticked = set(box.selected) | chosen
        box.clear_options()
        box.add_options([(name, name, name in ticked) for name in self._custodian_names()])
        box.highlighted = 0 if box.option_count else None
        box.display = self.query_one("#so-pin", Select).value == SPLIT and self._trusted
        self.query_one("#so-hint").display = box.display
        self._word_parts(box)

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        self._word_parts(event.selection_list)

    def _word_parts(self, box: SelectionList) -> None:
        """Who types which part, in words: the tick box shows it by colour alone."""
        names = self._custodian_names()
        ticked = [name for name in names if name in box.selected]
        for index, name in enumerate(names):
            said = (f"✓ types part {ticked.index(name) + 1} of {len(ticked)}" if name in ticked
                    else "· holds no part")
            box.replace_option_prompt_at_index(index, Text(f"{name}   {said}"))

    def _custodian_names(self) -> list[str]:
        return [person.get("name", "") for person in self.state.draft.tables("participant")
                if person.get("role") == "custodian"]

    @property
    def _trusted(self) -> bool:
        return self.query_one("#wrap-policy", Select).value == "trusted"

    def on_select_changed(self) -> None:
        self._policy_changed()

    def _policy_changed(self) -> None:
        policy = self.query_one("#wrap-policy", Select).value
        self.query_one("#policy-meaning", Label).update(
            f"{WRAP_POLICIES[policy]}"
            + ("; the SO PIN marks the KEKs trusted" if policy == "trusted" else
               "; no SO PIN is needed"))
        self.query_one("#so-row").display = self._trusted
        self._custodians()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "module":
            self.rescan()

    def action_rescan(self) -> None:
        self.rescan()

    @work(exclusive=True, group="tokens")
    async def rescan(self) -> None:
        status = self.query_one("#token-status", Label)
        status.update("Listing the tokens...")
        chosen = self._token()
        self._hsm["token"] = chosen.info.label if chosen else self._hsm.get("token", "")
        self.tokens = []
        try:
            module = find_module(self.query_one("#module", Input).value.strip() or None,
                                 self.state.env)
            self.tokens = await off_loop(present_tokens, module, self.state.env)
        except CeremonyError as error:
            status.update(f"✗ {sentence(error)}")
            self._show_tokens()
            return
        status.update(NO_TOKEN.format(module=module) if not self.tokens else
                      f"Tokens on {module} (the one highlighted is chosen):")
        self._show_tokens()

    def _show_tokens(self) -> None:
        listing = self.query_one("#tokens", OptionList)
        listing.clear_options()
        for number, token in enumerate(self.tokens):
            listing.add_options([None] * bool(number) + [Option(token_lines(token))])
        listing.display = bool(self.tokens)
        labels = [token.info.label for token in self.tokens]
        if self._hsm.get("token") in labels:
            listing.highlighted = labels.index(self._hsm["token"])
        elif self.tokens:
            listing.highlighted = 0
        self._chosen()

    def on_option_list_option_highlighted(self) -> None:
        self._chosen()

    def _chosen(self) -> None:
        token = self._token()
        rehearsal = token is not None and software_token(token.info.manufacturer)
        self.query_one("#token-rehearsal").display = rehearsal
        chosen = self.query_one("#chosen", Label)
        chosen.display = token is not None
        if token is not None:
            chosen.update(f"▶ Chosen: {token.info.label} (serial {token.info.serial})")

    def _token(self) -> PresentToken | None:
        index = self.query_one("#tokens", OptionList).highlighted
        return self.tokens[index] if index is not None and index < len(self.tokens) else None

    def store(self) -> None:
        hsm = self._hsm
        hsm["module"] = self.query_one("#module", Input).value.strip()
        token = self._token()
        if token is not None:
            hsm["token"] = token.info.label
        hsm["wrap_policy"] = self.query_one("#wrap-policy", Select).value
        hsm["user_pin"] = self.query_one("#user-pin", Input).value.strip()
        hsm.pop("so_pin", None)
        if self._trusted:
            hsm["so_pin"] = self._so_pin()

    def _so_pin(self) -> str | dict:
        choice = self.query_one("#so-pin", Select).value
        if choice != SPLIT:
            return choice
        ticked = set(self.query_one("#so-custodians", SelectionList).selected)
        return {"parts": [{"custodian": name, "source": "prompt"}
                          for name in self._custodian_names() if name in ticked]}


def _text(value: object, default: str) -> str:
    """A PIN source field's text: the draft's string, else the default."""
    return value if isinstance(value, str) and value else default
