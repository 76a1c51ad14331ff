"""Done: what the finished ceremony left, checked, and what goes in the paper log.

The ceremony directory is verified as `ceremony verify` does it, pinned to the signer and the
journal end this run reported, and summarised in its words. Then the outputs with their SHA-256
(the record's `outputs`), the lines for the paper log, the az import commands the ceremony
wrote, and where the report and the runbook are. Reading and hashing run off the event loop.
"""

from __future__ import annotations

import json

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from ceremony.awaiting import off_loop
from ceremony.commands.verify import summary
from ceremony.engine.ceremony import Outcome
from ceremony.errors import CeremonyError
from ceremony.layout import REPORT, RUNBOOK, CeremonyDir
from ceremony.readback import hex_groups
from ceremony.record.verify import verify_ceremony


def verified(outcome: Outcome) -> str:
    """`ceremony verify`'s summary of the directory, or the one line of what failed."""
    try:
        report = verify_ceremony(outcome.directory, signer=outcome.signer_fingerprint,
                                 journal_end=outcome.journal_head)
    except CeremonyError as error:
        return f"✗ NOT verified: {error.message}. {error.hint}"
    return f"✓ verified: every check `ceremony verify` makes held\n{summary(report, None)}"


def paper_log(outcome: Outcome) -> str:
    signer = hex_groups(bytes.fromhex(outcome.signer_fingerprint)).split(" ")
    return "\n".join((
        "record.json SHA-256:",
        f"  {outcome.record_sha256}",
        "signer fingerprint (SHA-256):",
        f"  {' '.join(signer[:8])}",
        f"  {' '.join(signer[8:])}",
        f"journal.jsonl ends at line {outcome.journal_lines}, SHA-256:",
        f"  {outcome.journal_head}",
    ))


def outputs(directory: CeremonyDir) -> str:
    try:
        record = json.loads(directory.record.read_bytes())
    except (OSError, ValueError) as error:
        return f"✗ {directory.record} cannot be read ({error})"
    return "\n".join(f"{name}\n  {digest}" for name, digest in sorted(record["outputs"].items()))


def az_imports(directory: CeremonyDir) -> str:
    files = sorted(directory.keys.glob("*.az-import.txt"))
    return "\n\n".join(f"# {path.name}\n{path.read_text().strip()}" for path in files)


def done_text(outcome: Outcome) -> str:
    """Everything the Done screen shows, as plain text."""
    directory = CeremonyDir(outcome.directory)
    sections = (
        ("Verify", verified(outcome)),
        ("For the paper log", paper_log(outcome)),
        ("Outputs and their SHA-256", outputs(directory)),
        ("Import into Azure Key Vault (on the online workstation)", az_imports(directory)),
        ("Documents", f"report:  {directory / REPORT}\nrunbook: {directory / RUNBOOK}"),
    )
    return "\n\n".join(f"== {title} ==\n{text}" for title, text in sections)


class DoneScreen(Screen):
    CSS_PATH = "done.tcss"
    NAME = "Done"
    HELP = ("The ceremony is complete. Copy the lines under \"For the paper log\" into the "
            "paper log; the verify result says what was checked. Arrow keys and Page Up/Down "
            "scroll; Ctrl+Q closes the wizard.")
    BINDINGS = (Binding("ctrl+q", "app.quit_asking", "Close"),)

    def __init__(self, outcome: Outcome) -> None:
        super().__init__()
        self.outcome = outcome

    def compose(self) -> ComposeResult:
        yield Label(Text(f"✓ Ceremony completed: {self.outcome.directory}"), id="done-title")
        with VerticalScroll(id="done-body"):
            yield Static("… Verifying the ceremony directory", id="done-text", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#done-body").focus()
        self.run_worker(self._fill(), name="done")

    async def _fill(self) -> None:
        text = await off_loop(done_text, self.outcome)
        self.query_one("#done-text", Static).update(Text(text))
