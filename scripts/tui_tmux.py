"""Driven by scripts/tui-tmux: scripts/demo in tmux at 80x24, the wizard typed screen by screen.

Each step waits for what a person would see before typing, and keeps the screen in DIR
(screens.txt), so a failure shows the screen it stopped at.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from tests.tui.tmux import Terminal

ROOT = Path(__file__).resolve().parent.parent
USER_PIN, SO_PIN = "123456", "87654321"  # scripts/demo's rehearsal PINs
PEOPLE = (("Alice Admin", "administrator"), ("Carol Custodian", "custodian"),
          ("Dave Custodian", "custodian"), ("Wendy Witness", "witness"))
ROLE_KEYS = {"administrator": ["Up"], "custodian": [], "witness": ["Down"]}
KEYS = (("managed-services", "cmk-managed-services", "adb-managed-services"),
        ("managed-disks", "cmk-managed-disks", "adb-managed-disks"),
        ("dbfs-root", "cmk-dbfs-root", "adb-dbfs-root"))


class Person:
    """Keys typed one after the other, as people type, with the screen read in between."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal

    def sees(self, text: str, timeout: float = 120) -> str:
        return self.terminal.wait_for(text, timeout)

    def opens(self, step: str) -> str:
        """A step's screen, once shown and settled: a person reads it before typing."""
        shown = self.sees(step)
        self.terminal.pause(1)
        return shown

    def press(self, *keys: str) -> None:
        for key in keys:
            self.terminal.keys(key)
            self.terminal.pause()

    def write(self, text: str) -> None:
        self.terminal.literal(text)
        self.terminal.pause()

    def until(self, key: str, text: str, tries: int = 10) -> str:
        """Press `key` until `text` is on the screen."""
        for _ in range(tries):
            shown = self.terminal.screen()
            if text in shown:
                return shown
            self.press(key)
        return self.sees(text, timeout=1)


def welcome(person: Person) -> None:
    person.opens("Step 1 of 6: Welcome")
    person.sees("⚠ REHEARSAL")
    person.write("demo-wizard")
    person.press("Tab")
    person.write("Rehearsal: the three Databricks CMK keys")
    person.press("C-n")


def participants(person: Person) -> None:
    person.opens("Step 2 of 6: Participants")
    for name, role in PEOPLE:
        person.write(name)
        person.press("Tab", "Enter", *ROLE_KEYS[role], "Enter", "Tab", "Enter")
        person.sees(f"{name} ({role})")
    person.press("C-n")


def token(person: Person) -> None:
    person.opens("Step 3 of 6: Token")
    person.sees("▶ Chosen:")
    person.press("Tab")
    person.until("Down", "▶ Chosen: rehearsal (")
    person.press("Tab", "Tab", "Tab", "Enter", "Down", "Enter")  # SO PIN: split
    person.press("Tab", "Space", "Down", "Space")
    person.sees("Dave Custodian   ✓ types part 2 of 2")
    person.press("C-n")


def keks(person: Person) -> None:
    person.opens("Step 4 of 6: KEKs")
    person.sees("ceremony-kek.json")
    person.press("Down", "Enter")  # the first file under the media folder
    person.sees("File:")
    shown = person.sees("✓ passes  the key is RSA")
    assert "✗ fails" not in shown, shown
    person.press("Tab", "Enter")
    person.sees("Yes (y)")
    person.press("y")
    person.sees("confirmed")
    person.press("C-n")


def keys(person: Person) -> None:
    person.opens("Step 5 of 6: Keys and features")
    person.write("adb-analytics-prod")
    person.press("Enter")
    person.sees("│adb-analytics-prod")
    person.press("F3")
    for index, (name, label, azure_name) in enumerate(KEYS):
        person.press("F2")
        person.sees("(no name)")
        person.terminal.pause(1)
        person.write(name)
        person.press("Tab", "Tab", "Tab")  # past the type and the size: RSA 2048
        person.write(label)
        person.press("Tab")
        person.write(azure_name)
        person.press(*["Tab"] * (4 + index), "Space")  # past KEK, key ops, after export
        person.sees(f"{name}: ✓ ticked")
        person.sees(f"✓ key[{index + 1}] passes the plan check")
    person.press("F3")
    person.sees("✓ 16 covered")
    person.press("C-n")


def review(person: Person) -> None:
    person.opens("Step 6 of 6: Review")
    person.sees("✓ Ready: the plan check passes")
    person.press("C-s")


def ceremony(person: Person) -> None:
    """Answer each question the engine asks until the done screen."""
    answers = {
        "compare this with the KEK fingerprint": ["y"],
        "PIN for Carol Custodian (SO PIN part 1 of 2)": [SO_PIN[:4], "Enter"],
        "PIN for Dave Custodian (SO PIN part 2 of 2)": [SO_PIN[4:], "Enter"],
        "PIN for user of token rehearsal": [USER_PIN, "Enter"],
        "read these words aloud": ["y"],
        "Alice Admin (administrator), type your name": ["Alice Admin", "Enter"],
        "Wendy Witness (witness), type your name": ["Wendy Witness", "Enter"],
    }
    while True:
        shown = person.terminal.screen()
        if "✓ verified" in shown:
            person.sees("✓ verified")  # the done screen, kept
            return
        question = next((q for q in answers if q in shown), None)
        if question is None:
            person.terminal.pause(0.3)
            continue
        person.terminal.screens.append(shown)
        for key in answers[question]:
            (person.press if key in ("Enter", "y") else person.write)(key)
        person.terminal.pause(0.5)


def main() -> int:
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    directory.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CMK_REHEARSAL_DIR": str(directory / "rehearsal")}
    terminal = Terminal(directory, [str(ROOT / "scripts/demo")], env)
    person = Person(terminal)
    try:
        person.sees("Press Enter to open the wizard", timeout=300)
        person.press("Enter")
        for step in (welcome, participants, token, keks, keys, review, ceremony):
            step(person)
            print(f"✓ {step.__name__}", flush=True)
        person.press("C-q")
        person.sees("all checks passed", timeout=300)
        assert terminal.exit_code() == 0
    finally:
        (directory / "screens.txt").write_text("\n\f\n".join(terminal.screens))
        terminal.close()
    print(f"the rehearsal ceremony ran in the wizard and passed the demo's checks; screens in "
          f"{directory / 'screens.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
