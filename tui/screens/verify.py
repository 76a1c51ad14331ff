"""Verify a finished ceremony against the paper log: the signer fingerprint typed from it and,
if it was noted, the journal's last line SHA-256.

The checks are `ceremony verify`'s own (record/verify.py), run off the event loop; what held is
told in its words (commands/verify.py summary), a failure as its one line and what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from ceremony.awaiting import off_loop
from ceremony.commands.verify import summary
from ceremony.errors import CeremonyError
from ceremony.record.verify import VerifyReport, verify_ceremony

HELP = ("Checks the ceremony directory in software, as `ceremony verify` does: the record's "
        "signature, the journal's chain and seals, and every file's SHA-256.\n\nType the signer "
        "fingerprint from the paper log (hex; spaces and colons allowed): it is what shows the "
        "record was signed by the ceremony's own signer, not by a key someone put in the "
        "directory. The journal end SHA-256, if the paper log has it, also shows no line was cut "
        "from the end. Enter checks.")


class VerifyScreen(Screen):
    CSS_PATH: ClassVar[list[str]] = ["step.tcss", "verify.tcss"]
    NAME = "Verify"
    HELP = HELP

    def __init__(self, directory: Path, finished: bool = False) -> None:
        """`finished`: opened on a plan whose ceremony already ended (there is nothing to run)."""
        super().__init__()
        self._directory = directory
        self._finished = finished

    def compose(self) -> ComposeResult:
        yield Label(Text(f"Verify {self._directory}"), id="step-title")
        with VerticalScroll(id="step-body", can_focus=False):
            if self._finished:
                yield Label(Text("This ceremony is finished (its record.json is there): there "
                                 "is nothing to resume. Check it against the paper log."))
            yield Label("Signer fingerprint (SHA-256) from the paper log:")
            yield Input(id="signer", compact=True)
            yield Label("Journal end SHA-256 from the paper log (optional):")
            yield Input(id="journal-end", compact=True)
            yield Static("Enter checks.", id="result")
        yield Footer()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "signer":
            self.query_one("#journal-end", Input).focus()
        signer = self.query_one("#signer", Input).value
        end = self.query_one("#journal-end", Input).value.strip() or None
        self._tell("Checking...")
        self.run_worker(self._verify(signer, end), name="verify", exclusive=True)

    async def _verify(self, signer: str, end: str | None) -> None:
        try:
            report = await off_loop(verify_ceremony, self._directory, signer=signer,
                                    journal_end=end)
        except CeremonyError as error:
            self.app.verification = error
            hint = f"\nWhat to do: {error.hint}" if error.hint else ""
            self._tell(f"✗ Not verified: {error.message}{hint}")
            return
        self.app.verification = report
        self._tell(_held(report))

    def _tell(self, text: str) -> None:
        self.query_one("#result", Static).update(Text(text))


def _held(report: VerifyReport) -> str:
    lines = ["✓ Verified: every check held.", summary(report, None)]
    lines += [f"⚠ record self-test: {warning}" for warning in report.warnings]
    lines += [f"⚠ {note}" for note in report.notes]
    return "\n".join(lines)
