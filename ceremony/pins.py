"""Where a PIN comes from. Never from argv or the plan: DESIGN.md section 5, PIN sources.

A source is written as a short string in the plan or on the command line:
`prompt` (echo off on /dev/tty, or the masked TUI field), `pinpad` (the token's protected
authentication path), `fd:N` (read one line from an inherited file descriptor), `file:PATH`
(a file only its owner can read: mode 0600 or 0400), `env:NAME` (an environment variable),
`keyring:SERVICE/USERNAME` (opt-in; the fail, null and plaintext backends are refused).

This module is the only code that turns a source into a `SecretPin`, so the refusals below are
made once, and no message it raises carries a PIN or any part of one (errors are raised
`from None` so a decoding error holding the bytes is not chained either). Every source gives
the PIN alone: one trailing newline (LF or CRLF) is dropped, nothing else is stripped, and an
empty, multi-line, non-UTF-8 or over-long (> MAX_PIN_BYTES) PIN is refused.

A source may itself be a PIN typed in the wrong place (`env:123456`, `file:123456`), so a
source's text is shown only when it is safely not one: `env:` takes a variable name alone
(letters, digits and '_', not starting with a digit), and a `file:` path is shown only when
something is there (`PinSource.__str__`). `check_source` proves a source readable without
reading it, so a bad one is refused before a ceremony writes anything.

Decisions: `fd:1` and `fd:2` are refused (they are the tool's outputs); `fd:0` and any other
descriptor are read unless they are a terminal, which would echo the PIN (use `prompt`); a
descriptor that gives no line within FD_TIMEOUT_SECONDS is given up on. `file:` refuses a
symbolic link as the last path component, anything but a regular file, a file owned by another
user, and any mode but 0600 or 0400. `env:` leaves the variable in the environment; the caller
decides whether to clear it. `keyring` is imported only when a keyring source is read or
checked (it is opt-in, and importing it costs ~170 ms).
"""

from __future__ import annotations

import asyncio
import errno
import getpass
import os
import re
import select
import shlex
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from ceremony.errors import BadInputError
from ceremony.secret import SecretPin

SourceKind = Literal["prompt", "pinpad", "fd", "file", "env", "keyring"]
SOURCE_FORMS = "prompt, pinpad, fd:N, file:PATH, env:NAME, keyring:SERVICE/USERNAME"

MAX_PIN_BYTES = 256
FD_TIMEOUT_SECONDS = 60.0  # how long fd:N waits for its line
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FILE_NOT_SHOWN = "file (path not shown: no file is there, so it may be a mistyped PIN)"
# Backends that keep nothing, fail every call, or keep the PIN in a plain or home-made file.
REFUSED_KEYRINGS = frozenset({"keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"})
REFUSED_KEYRING_PACKAGE = "keyrings.alt."  # PlaintextKeyring, EncryptedKeyring and the rest
_SYSTEM_KEYRINGS = "Secret Service, macOS Keychain, Windows Credential Locker"

Prompt = Callable[[str], str]


@dataclass(frozen=True)
class PinSource:
    kind: SourceKind
    value: str | None = None

    def __str__(self) -> str:
        """The source as people may see it: a file: path only when something is there."""
        if self.value is None:
            return self.kind
        if self.kind == "file" and not os.path.lexists(self.value):
            return FILE_NOT_SHOWN
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Pinpad:
    """No PIN here: the holder types it on the token's own PIN pad.

    The hsm layer logs in with PKCS#11's protected authentication path (a NULL PIN,
    python-pkcs11's `PROTECTED_AUTH`) when it is handed `PINPAD` instead of a `SecretPin`.
    """


PINPAD = Pinpad()


def parse_pin_source(text: str) -> PinSource:
    """Parse a PIN source string; ValueError names the allowed forms, never the text.

    The text may be a PIN typed where its source belongs, so the error does not repeat it.
    """
    refusal = ValueError("the value given is not a PIN source (not shown, in case it is a PIN); "
                         f"use one of {SOURCE_FORMS}")
    if not text.isprintable():  # no control character belongs in a source, nor on a terminal
        raise refusal
    kind, sep, value = text.partition(":")
    if kind in ("prompt", "pinpad") and not sep:
        return PinSource(kind)
    if kind == "fd" and value.isascii() and value.isdecimal() and int(value) < 2**31:
        return PinSource("fd", value)
    if (kind == "file" and value) or (kind == "env" and ENV_NAME.fullmatch(value)):
        return PinSource(kind, value)
    if kind == "keyring" and "/" in value.strip("/"):
        return PinSource("keyring", value)
    raise refusal


async def read_pin(
    source: PinSource,
    who: str,
    *,
    env: Mapping[str, str] = os.environ,
    prompt: Prompt | None = None,
    fd_timeout: float = FD_TIMEOUT_SECONDS,
) -> SecretPin | Pinpad:
    """Read the PIN for `who` off the event loop: a prompt, a pipe or a keyring may block.

    `prompt(text) -> str` replaces the /dev/tty prompt (tests, or a front end's masked field);
    it is called on a worker thread.
    """
    return await asyncio.to_thread(read_pin_blocking, source, who, env=env, prompt=prompt,
                                   fd_timeout=fd_timeout)


def read_pin_blocking(
    source: PinSource,
    who: str,
    *,
    env: Mapping[str, str] = os.environ,
    prompt: Prompt | None = None,
    fd_timeout: float = FD_TIMEOUT_SECONDS,
) -> SecretPin | Pinpad:
    """Read the PIN for `who` (a role, named in messages and the prompt) from `source`."""
    if source.kind == "pinpad":
        return PINPAD
    if source.kind == "prompt":
        raw = _from_prompt(who, prompt or tty_prompt)
    elif source.kind == "fd":
        raw = _from_fd(int(source.value), who, fd_timeout)
    elif source.kind == "file":
        raw = _from_file(source.value, who)
    elif source.kind == "env":
        raw = _from_env(source.value, who, env)
    else:
        raw = _from_keyring(source, who)
    return _pin(raw, source, who)


def accept_pin(text: str, source: PinSource, who: str) -> SecretPin:
    """A PIN a front end's own field collected for `who` (for the source `prompt`), held to the
    same rules as every source's PIN: one trailing newline dropped; empty, multi-line, over-long
    and non-UTF-8 refused with the same one-line errors, none of which repeats the PIN."""
    return _pin(_encode(text), source, who)


def prompt_closed(who: str) -> BadInputError:
    """The error when input ends (Ctrl-D) at a PIN prompt, whichever front end prompted."""
    return BadInputError(
        "pin-prompt-closed", f"PIN for {who}: input ended before a PIN was entered",
        "Type the PIN and press Enter, or choose another PIN source",
    )


def check_source(source: PinSource, who: str, env: Mapping[str, str] = os.environ) -> None:
    """Refuse, as reading would, a source that cannot give a PIN, without reading one.

    An env: variable must be set, a file: path must be a safe file, an fd: descriptor open and
    not a terminal, a keyring's backend acceptable. A prompt and the PIN pad are asked at login.
    """
    if source.kind == "fd":
        _check_fd(int(source.value), who)
    elif source.kind == "file":
        os.close(_open_file(source.value, who))
    elif source.kind == "env":
        _check_env(source.value, who, env)
    elif source.kind == "keyring":
        _keyring_backend(source, who)


class _NoTerminal(Exception):
    """/dev/tty cannot be opened; `_from_prompt` turns it into a message naming the role."""


def tty_prompt(text: str) -> str:
    """Ask on /dev/tty with echo off; refuse rather than let getpass fall back to echoing."""
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        raise _NoTerminal from None
    return getpass.getpass(text)


def _pin(raw: bytes, source: PinSource, who: str) -> SecretPin:
    if raw.endswith(b"\n"):
        raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
    where = f"PIN for {who} from {source}"
    hint = "A PIN source gives the PIN alone, on one line"
    if not raw:
        raise BadInputError("pin-empty", f"{where} is empty", hint)
    if len(raw) > MAX_PIN_BYTES:
        raise BadInputError("pin-too-long", f"{where} is longer than {MAX_PIN_BYTES} bytes", hint)
    if b"\n" in raw or b"\r" in raw:
        raise BadInputError("pin-multiline", f"{where} has more than one line", hint)
    try:
        return SecretPin(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInputError("pin-not-utf8", f"{where} is not UTF-8 text", hint) from None


def _encode(text: str) -> bytes:
    # surrogatepass keeps odd input (os.environ's surrogate escapes) as bytes that _pin refuses.
    return text.encode("utf-8", "surrogatepass")


def _from_prompt(who: str, prompt: Prompt) -> bytes:
    try:
        return _encode(prompt(f"PIN for {who}: "))
    except _NoTerminal:
        raise BadInputError(
            "pin-no-terminal",
            f"PIN for {who}: prompt needs a terminal and /dev/tty cannot be opened",
            "Run the tool on a terminal, or choose pinpad, fd:N or file:PATH",
        ) from None
    except EOFError:
        raise prompt_closed(who) from None


def _check_fd(fd: int, who: str) -> None:
    if fd in (1, 2):
        raise BadInputError(
            "pin-fd-reserved",
            f"PIN for {who}: fd:{fd} is the tool's standard output or error, not an input",
            "Open the PIN on descriptor 0 or 3 and above, e.g. 3<pin-pipe, and use fd:3",
        )
    if os.isatty(fd):
        raise BadInputError(
            "pin-fd-terminal",
            f"PIN for {who}: fd:{fd} is a terminal, which would echo the PIN",
            "Use the prompt source to type a PIN with echo off",
        )
    try:
        os.fstat(fd)
    except OSError as error:
        raise _fd_unreadable(fd, who, error) from None


def _from_fd(fd: int, who: str, timeout: float) -> bytes:
    _check_fd(fd, who)
    deadline = time.monotonic() + timeout
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    line = bytearray()
    try:
        # One byte at a time so nothing after the first line is consumed.
        while len(line) <= MAX_PIN_BYTES + 1 and not line.endswith(b"\n"):
            if not poller.poll(max(0.0, deadline - time.monotonic()) * 1000):
                raise BadInputError(
                    "pin-fd-timeout",
                    f"PIN for {who}: no PIN arrived on file descriptor {fd} within {timeout:g} s",
                    "Write the PIN and a newline to it, or use another PIN source",
                )
            byte = os.read(fd, 1)
            if not byte:
                break
            line += byte
    except OSError as error:
        raise _fd_unreadable(fd, who, error) from None
    return bytes(line)


def _fd_unreadable(fd: int, who: str, error: OSError) -> BadInputError:
    return BadInputError(
        "pin-fd-unreadable",
        f"PIN for {who}: fd:{fd} cannot be read ({error.strerror})",
        f"Start the tool with descriptor {fd} open for reading, e.g. {fd}<pin-pipe",
    )


def _from_file(path: str, who: str) -> bytes:
    fd = _open_file(path, who)
    try:
        with os.fdopen(fd, "rb", closefd=False) as handle:
            # A longest PIN, CRLF, and one byte more to notice anything after them.
            return handle.read(MAX_PIN_BYTES + 3)
    finally:
        os.close(fd)


def _open_file(path: str, who: str) -> int:
    """The PIN file opened for reading, once it passed every check."""
    # O_NOFOLLOW refuses a link; checks run on the opened descriptor, so the file cannot be
    # swapped between check and read. O_NONBLOCK keeps a FIFO from blocking the open.
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise _file_error(path, who, error) from None
    try:
        _check_file(os.fstat(fd), path, who)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_file(info: os.stat_result, path: str, who: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise BadInputError(
            "pin-file-not-regular",
            f"PIN for {who}: {path} is not a regular file",
            "Give file: a plain file; use fd:N for a pipe",
        )
    if info.st_uid != os.geteuid():
        raise BadInputError(
            "pin-file-owner",
            f"PIN for {who}: {path} is owned by uid {info.st_uid}, "
            f"not by uid {os.geteuid()} running the tool",
            "Create the PIN file as the user who runs the ceremony",
        )
    if stat.S_IMODE(info.st_mode) not in (0o600, 0o400):
        raise BadInputError(
            "pin-file-mode",
            f"PIN for {who}: {path} has mode {stat.S_IMODE(info.st_mode):04o}, "
            "not 0600 or 0400",
            f"Run chmod 600 {shlex.quote(path)}",
        )


def _file_error(path: str, who: str, error: OSError) -> BadInputError:
    # Nothing at the path: it may be a PIN typed after "file:", so it is not shown.
    if error.errno == errno.ENOENT:
        return BadInputError(
            "pin-file-missing",
            f"PIN for {who}: no file is at the path its file: source gives (not shown, in case "
            "it is a PIN)",
            "Create it with the PIN on one line and chmod 600, or choose another PIN source",
        )
    if error.errno == errno.ELOOP:
        return BadInputError(
            "pin-file-symlink",
            f"PIN for {who}: {path} is a symbolic link",
            "Name the file itself; a link could be pointed elsewhere",
        )
    shown = path if os.path.lexists(path) else "the path its file: source gives (not shown)"
    return BadInputError(
        "pin-file-unreadable",
        f"PIN for {who}: {shown} cannot be read ({error.strerror})",
        "Check the path and its permissions",
    )


def _check_env(name: str, who: str, env: Mapping[str, str]) -> None:
    if name not in env:
        raise BadInputError(
            "pin-env-unset",
            f"PIN for {who}: environment variable {name} is not set",
            f"Export {name} with the PIN, or choose another PIN source",
        )


def _from_env(name: str, who: str, env: Mapping[str, str]) -> bytes:
    _check_env(name, who, env)
    return _encode(env[name])


def _keyring_backend(source: PinSource, who: str):
    """The keyring backend that will be asked, once its name and every link pass."""
    import keyring
    from keyring.backends.chainer import ChainerBackend

    service, _, username = source.value.rpartition("/")
    if not service or not username:
        raise BadInputError(
            "pin-keyring-name",
            f"PIN for {who}: {source} does not name both a service and a user",
            "Write keyring:SERVICE/USERNAME",
        )
    backend = keyring.get_keyring()
    # A chainer answers from whichever backend holds the entry, so every link must pass.
    chain = list(backend.backends) if isinstance(backend, ChainerBackend) else [backend]
    for name in map(_class_name, chain):
        if name in REFUSED_KEYRINGS or name.startswith(REFUSED_KEYRING_PACKAGE):
            raise BadInputError(
                "pin-keyring-refused",
                f"PIN for {who}: keyring backend {name} is refused",
                "It keeps no secret or keeps it in a plain file; configure a system keyring "
                f"({_SYSTEM_KEYRINGS}) or choose another PIN source",
            )
    return backend


def _from_keyring(source: PinSource, who: str) -> bytes:
    from keyring.errors import KeyringError, NoKeyringError

    backend = _keyring_backend(source, who)
    service, _, username = source.value.rpartition("/")
    try:
        value = backend.get_password(service, username)
    except NoKeyringError:
        raise BadInputError(
            "pin-keyring-unavailable",
            f"PIN for {who}: no keyring backend is available for {source}",
            f"Install and unlock a system keyring ({_SYSTEM_KEYRINGS}), "
            "or choose another PIN source such as prompt or fd:N",
        ) from None
    except KeyringError as error:
        raise BadInputError(
            "pin-keyring-failed",
            f"PIN for {who}: keyring backend {_class_name(backend)} failed "
            f"({type(error).__name__})",
            "Unlock the keyring and retry, or choose another PIN source",
        ) from None
    if value is None:
        raise BadInputError(
            "pin-keyring-missing",
            f"PIN for {who}: the keyring has no entry for service {service!r}, user {username!r}",
            f"Store it with: keyring set {shlex.quote(service)} {shlex.quote(username)}",
        )
    return _encode(value)


def _class_name(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"
