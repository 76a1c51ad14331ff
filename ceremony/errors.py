"""One error tree and the one place that maps errors to exit codes.

Every failure a user can cause or meet is a CeremonyError with a stable kebab-case code, a
one-line message naming the thing that is wrong, and a hint saying what to do. The CLI prints
`error.line()` on stderr and exits with `exit_code_for(error)`; nothing else chooses exit codes.
A message names paths and values people gave, so `line()` shows their control characters
escaped (`printable`): one error stays one line, and no escape sequence reaches the terminal.
"""

from __future__ import annotations

from enum import IntEnum


def printable(text: str) -> str:
    """`text` with every unprintable character (C0, DEL, C1, line and paragraph separators,
    bidi controls, other invisibles) escaped as Python's repr() writes it: \\n, \\x1b, \\u2028."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class ExitCode(IntEnum):
    """Process exit codes; the README lists them."""

    OK = 0
    FAILED = 1  # the ceremony failed at a step
    BAD_INPUT = 2  # usage, file, plan, KEK
    TOKEN = 3  # token or HSM: not found, in use, login failed, mechanism missing
    VERIFY = 4  # verification failed: tampering, mismatch
    INTERRUPTED = 130  # Ctrl-C (SIGINT)
    TERMINATED = 143  # SIGTERM


class CeremonyError(Exception):
    """Base of every error the tool reports to a person."""

    exit_code = ExitCode.FAILED

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint

    def line(self) -> str:
        """The single stderr line: what is wrong, then what to do."""
        text = f"ceremony: error: {self.message}"
        if self.hint:
            text += f". {self.hint}"
        return printable(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class BadInputError(CeremonyError):
    """A flag, file, plan field or KEK is wrong; nothing was touched."""

    exit_code = ExitCode.BAD_INPUT


class TokenError(CeremonyError):
    """The token or HSM cannot do what was asked: not found, in use, login, mechanism."""

    exit_code = ExitCode.TOKEN


class VerificationError(CeremonyError):
    """Something written does not match what it should be: tampering or a mismatch."""

    exit_code = ExitCode.VERIFY


class StepFailed(CeremonyError):
    """A ceremony step failed for a reason that is neither input nor token."""

    exit_code = ExitCode.FAILED


class Terminated(BaseException):
    """SIGTERM arrived: stop like Ctrl-C does (a BaseException, so no handler swallows it)."""

    @staticmethod
    def raise_on_signal(signum, frame):
        """A signal handler (signal.signal) that turns SIGTERM into this exception."""
        raise Terminated


def stop_line(stop: BaseException) -> str:
    """The stderr line for Ctrl-C or SIGTERM, whenever it arrives."""
    how = "terminated (SIGTERM)" if isinstance(stop, Terminated) else "interrupted"
    return f"ceremony: {how}; an interrupted ceremony resumes with `ceremony run --resume DIR`"


def exit_code_for(error: BaseException) -> ExitCode:
    """Map any exception to the documented exit code."""
    if isinstance(error, CeremonyError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(error, Terminated):
        return ExitCode.TERMINATED
    return ExitCode.FAILED
