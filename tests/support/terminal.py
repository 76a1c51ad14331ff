"""The CLI on a real pseudo-terminal: people at it answer each prompt in turn."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys


def run_on_terminal(argv: list[str], env: dict[str, str],
                    dialogue: list[tuple[bytes, bytes]], end: bytes) -> tuple[int, bytes]:
    """Run `python -m ceremony *argv` with a pty as its controlling terminal (so /dev/tty
    is the pty); for each (prompt, answer) wait for the prompt, then type the answer; wait for
    `end`. Returns the exit code and everything the terminal showed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child
        os.execve(sys.executable, [sys.executable, "-m", "ceremony", *argv], env)
    shown, after = b"", 0
    try:
        for prompt, answer in dialogue:
            shown, after = _until(fd, shown, after, prompt)
            os.write(fd, answer + b"\n")
        shown, _ = _until(fd, shown, after, end)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), shown


def _until(fd: int, shown: bytes, after: int, text: bytes) -> tuple[bytes, int]:
    """Read until `text` shows at or after position `after`; return all shown and the position
    just past `text`."""
    while text not in shown[after:]:
        ready, _, _ = select.select([fd], [], [], 60)
        assert ready, f"no {text!r} on the terminal; it shows:\n{shown.decode()}"
        shown += os.read(fd, 4096)
    return shown, shown.index(text, after) + len(text)
