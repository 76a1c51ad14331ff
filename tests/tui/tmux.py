"""A real terminal (tmux, a session of its own at 80x24) for the real `ceremony tui` and
`scripts/demo`: keys in, the screen out."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path

COLUMNS, ROWS = 80, 24


class Terminal:
    """`command` in a private tmux server (its own socket) at 80x24, run in `directory`; its
    exit code lands in `rc` once it ends, and what it said last stays on the screen."""

    def __init__(self, directory: Path, command: list[str], env: dict[str, str]) -> None:
        self.socket = directory / "tmux.sock"
        self.rc = directory / "rc"
        self.screens: list[str] = []
        line = f"{shlex.join(command)}; echo $? >{self.rc}; sleep 600"
        self._tmux("new-session", "-d", "-s", "wizard", "-x", str(COLUMNS), "-y", str(ROWS),
                   "-c", str(directory), line, env=env)

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        return subprocess.run(["tmux", "-S", str(self.socket), *args], env=env, check=True,
                              capture_output=True, text=True).stdout

    def screen(self, escapes: bool = False, joined: bool = False) -> str:
        """The screen's text; with `escapes`, with the colour and style codes it is drawn with;
        `joined`: a line the terminal wrapped is one line again."""
        options = [*(["-e"] if escapes else []), *(["-J"] if joined else [])]
        return self._tmux("capture-pane", "-p", *options, "-t", "wizard")

    def wait_for(self, text: str, timeout: float = 90) -> str:
        """The screen once it shows `text` (kept in `screens`)."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if text in shown:
                self.screens.append(shown)
                return shown
            assert time.monotonic() < deadline, f"no {text!r} on the screen:\n{shown}"
            assert not self.rc.exists(), f"the wizard ended:\n{self.screen()}"
            time.sleep(0.2)

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "wizard", *keys)

    def literal(self, text: str) -> None:
        """`text` typed as it is (no key names)."""
        self._tmux("send-keys", "-t", "wizard", "-l", text)

    def pause(self, seconds: float = 0.25) -> None:
        """Time for the screen to take a key, as a person leaves between keys."""
        time.sleep(seconds)

    def type(self, text: str) -> None:
        self.literal(text)
        self.keys("Enter")

    def quit_answering_yes(self) -> int:
        """Ctrl+Q, then y when the wizard asks whether to quit; the exit code."""
        self.keys("C-q")
        self.wait_for("Yes, quit")
        self.keys("y")
        return self.exit_code()

    def exit_code(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while not self.rc.exists() or not self.rc.read_text().strip():
            assert time.monotonic() < deadline, f"the wizard did not end:\n{self.screen()}"
            time.sleep(0.2)
        return int(self.rc.read_text())

    def close(self) -> None:
        subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], capture_output=True)


class TmuxWizard(Terminal):
    """`python -m ceremony tui [PLAN] [OPTIONS]` (Textual draws on stderr, so stderr stays the
    terminal)."""

    def __init__(self, directory: Path, plan: Path | None, env: dict[str, str],
                 *options: str) -> None:
        super().__init__(directory, [sys.executable, "-m", "ceremony", "tui",
                                     *([str(plan)] if plan else []), *options], env)
