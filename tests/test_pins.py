"""PIN sources and SecretPin: every refusal has an exact message, and none carries the PIN."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import pickle
import subprocess
import sys
import threading
import traceback

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.backends.chainer import ChainerBackend
from keyring.errors import KeyringLocked, NoKeyringError

from ceremony.cli import main
from ceremony.errors import BadInputError, ExitCode
from ceremony.pins import (
    FD_TIMEOUT_SECONDS,
    MAX_PIN_BYTES,
    PINPAD,
    PinSource,
    accept_pin,
    check_source,
    parse_pin_source,
    read_pin,
    read_pin_blocking,
)
from ceremony.secret import SecretPin, join
from tests.conftest import PIN_ENV
from tests.support.rehearsal import small_plan

PIN = "4711-Sesam"
WHO = "the crypto officer"


def refused(source: str, **kwargs) -> str:
    """Read expecting a refusal; check exit code 2 and that no text anywhere holds the PIN."""
    with pytest.raises(BadInputError) as caught:
        read_pin_blocking(parse_pin_source(source), WHO, **kwargs)
    error = caught.value
    assert error.exit_code == ExitCode.BAD_INPUT
    # Nothing chained either: a decoding error would carry the PIN's bytes.
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    printed = "".join(traceback.format_exception(error))
    assert PIN not in printed
    for text in (error.line(), repr(error), str(error), error.hint or ""):
        assert PIN not in text
        assert "\n" not in text
    return error.code + " | " + error.line()


def read(source: str, **kwargs) -> str:
    pin = read_pin_blocking(parse_pin_source(source), WHO, **kwargs)
    assert isinstance(pin, SecretPin)
    return pin.reveal()


# SecretPin


def test_secret_pin_masks_repr_str_and_format():
    pin = SecretPin(PIN)
    assert repr(pin) == str(pin) == f"{pin}" == "SecretPin(***)"
    assert PIN not in repr([pin, {"pin": pin}])
    assert PIN not in str(ValueError(f"login failed with {pin}"))
    assert pin.reveal() == PIN


def test_secret_pin_is_not_json_pickle_or_copy():
    pin = SecretPin(PIN)
    with pytest.raises(TypeError) as caught:
        json.dumps({"pin": pin})
    assert PIN not in str(caught.value)
    for leak in (pickle.dumps, copy.copy, copy.deepcopy):
        with pytest.raises(TypeError, match="cannot be pickled or copied"):
            leak(pin)


def test_secret_pin_is_immutable_and_equal_only_to_itself():
    pin = SecretPin(PIN)
    with pytest.raises(AttributeError):
        pin._value = "0000"
    with pytest.raises(TypeError):
        vars(pin)  # no __dict__ to dump
    assert pin == pin
    assert pin != SecretPin(PIN)
    assert pin != PIN
    with pytest.raises(TypeError):
        SecretPin(b"1234")


def test_join_concatenates_custodian_parts_in_order():
    joined = join([SecretPin("47"), SecretPin("11"), SecretPin("-Sesam")])
    assert joined.reveal() == PIN
    assert repr(joined) == "SecretPin(***)"
    with pytest.raises(ValueError, match="at least one PIN part"):
        join([])


# pinpad and prompt


async def test_pinpad_is_a_marker_not_a_pin():
    assert await read_pin(PinSource("pinpad"), WHO) is PINPAD
    assert not isinstance(PINPAD, SecretPin)


def test_prompt_asks_with_the_role_and_returns_the_pin():
    asked = []
    pin = read("prompt", prompt=lambda text: asked.append(text) or PIN)
    assert pin == PIN
    assert asked == ["PIN for the crypto officer: "]


def test_prompt_refusals():
    def closed(text):
        raise EOFError

    assert refused("prompt", prompt=lambda text: "") == (
        "pin-empty | ceremony: error: PIN for the crypto officer from prompt is empty. "
        "A PIN source gives the PIN alone, on one line"
    )
    assert refused("prompt", prompt=closed) == (
        "pin-prompt-closed | ceremony: error: PIN for the crypto officer: input ended before "
        "a PIN was entered. Type the PIN and press Enter, or choose another PIN source"
    )


def test_prompt_without_a_terminal_refuses_instead_of_echoing():
    """In a new session the child has no controlling terminal, wherever the tests run."""
    probe = (
        "from ceremony.pins import parse_pin_source, read_pin_blocking\n"
        "from ceremony.errors import BadInputError\n"
        "try:\n"
        "    read_pin_blocking(parse_pin_source('prompt'), 'the crypto officer')\n"
        "except BadInputError as error:\n"
        "    print(error.code, '|', error.line())\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            start_new_session=True, stdin=subprocess.DEVNULL, check=True)
    assert result.stdout == (
        "pin-no-terminal | ceremony: error: PIN for the crypto officer: prompt needs a terminal "
        "and /dev/tty cannot be opened. Run the tool on a terminal, or choose pinpad, fd:N or "
        "file:PATH\n"
    )


async def test_prompt_runs_off_the_event_loop():
    typed = threading.Event()

    def prompt(text):
        assert typed.wait(5), "the event loop was blocked while the prompt waited"
        return PIN

    asyncio.get_running_loop().call_later(0.05, typed.set)
    pin = await asyncio.wait_for(read_pin(PinSource("prompt"), WHO, prompt=prompt), 5)
    assert pin.reveal() == PIN


# fd:N


def pipe_with(data: bytes) -> int:
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    return read_end


def test_fd_reads_one_line_and_leaves_the_rest():
    fd = pipe_with(PIN.encode() + b"\nnext line\n")
    try:
        assert read(f"fd:{fd}") == PIN
        assert os.read(fd, 100) == b"next line\n"
    finally:
        os.close(fd)


@pytest.mark.parametrize("data", [b"4711-Sesam", b"4711-Sesam\r\n", b"4711-Sesam\n"])
def test_fd_strips_one_newline_only(data):
    fd = pipe_with(data)
    try:
        assert read(f"fd:{fd}") == PIN
    finally:
        os.close(fd)


async def test_fd_waits_for_the_writer_off_the_event_loop():
    read_end, write_end = os.pipe()
    try:
        task = asyncio.create_task(read_pin(PinSource("fd", str(read_end)), WHO))
        await asyncio.sleep(0.05)  # the reader is blocked in its thread, not on the loop
        os.write(write_end, PIN.encode() + b"\n")
        assert (await asyncio.wait_for(task, 5)).reveal() == PIN
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            b"",
            "pin-empty | ceremony: error: PIN for the crypto officer from fd:{fd} is empty. "
            "A PIN source gives the PIN alone, on one line",
        ),
        (
            b"\n" + PIN.encode(),
            "pin-empty | ceremony: error: PIN for the crypto officer from fd:{fd} is empty. "
            "A PIN source gives the PIN alone, on one line",
        ),
        (
            PIN.encode() * 30 + b"\n",
            "pin-too-long | ceremony: error: PIN for the crypto officer from fd:{fd} is longer "
            "than 256 bytes. A PIN source gives the PIN alone, on one line",
        ),
        (
            PIN.encode() + b"\r" + PIN.encode(),
            "pin-multiline | ceremony: error: PIN for the crypto officer from fd:{fd} has more "
            "than one line. A PIN source gives the PIN alone, on one line",
        ),
        (
            PIN.encode() + b"\xff\n",
            "pin-not-utf8 | ceremony: error: PIN for the crypto officer from fd:{fd} is not "
            "UTF-8 text. A PIN source gives the PIN alone, on one line",
        ),
    ],
)
def test_fd_bad_content(data, expected):
    fd = pipe_with(data)
    try:
        assert refused(f"fd:{fd}") == expected.format(fd=fd)
    finally:
        os.close(fd)


def test_fd_longest_pin_is_accepted():
    fd = pipe_with(b"7" * MAX_PIN_BYTES + b"\r\n")
    try:
        assert read(f"fd:{fd}") == "7" * MAX_PIN_BYTES
    finally:
        os.close(fd)


@pytest.mark.parametrize("fd", [1, 2])
def test_fd_refuses_stdout_and_stderr(fd):
    assert refused(f"fd:{fd}") == (
        f"pin-fd-reserved | ceremony: error: PIN for the crypto officer: fd:{fd} is the tool's "
        "standard output or error, not an input. Open the PIN on descriptor 0 or 3 and above, "
        "e.g. 3<pin-pipe, and use fd:3"
    )


def test_fd_refuses_a_terminal():
    controller, terminal = os.openpty()
    try:
        assert refused(f"fd:{terminal}") == (
            f"pin-fd-terminal | ceremony: error: PIN for the crypto officer: fd:{terminal} is a "
            "terminal, which would echo the PIN. Use the prompt source to type a PIN with echo off"
        )
    finally:
        os.close(controller)
        os.close(terminal)


def test_fd_refuses_a_closed_descriptor():
    fd = pipe_with(b"")
    os.close(fd)
    assert refused(f"fd:{fd}") == (
        f"pin-fd-unreadable | ceremony: error: PIN for the crypto officer: fd:{fd} cannot be "
        f"read (Bad file descriptor). Start the tool with descriptor {fd} open for reading, "
        f"e.g. {fd}<pin-pipe"
    )


def test_fd_gives_up_when_nobody_writes():
    """A real pipe whose writer stays open and silent: the read ends at the bound, not never."""
    read_end, write_end = os.pipe()
    try:
        assert refused(f"fd:{read_end}", fd_timeout=0.2) == (
            f"pin-fd-timeout | ceremony: error: PIN for the crypto officer: no PIN arrived on "
            f"file descriptor {read_end} within 0.2 s. Write the PIN and a newline to it, or use "
            "another PIN source"
        )
        os.write(write_end, b"47")  # half a line, then silence: the bound holds for the rest
        assert refused(f"fd:{read_end}", fd_timeout=0.2).startswith("pin-fd-timeout | ")
    finally:
        os.close(read_end)
        os.close(write_end)


def test_fd_waits_sixty_seconds_by_default():
    assert FD_TIMEOUT_SECONDS == 60


# file:PATH


def pin_file(tmp_path, data: bytes = PIN.encode() + b"\n", mode: int = 0o600):
    path = tmp_path / "pin.txt"
    path.write_bytes(data)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_file_owner_only_is_read(tmp_path, mode):
    assert read(f"file:{pin_file(tmp_path, mode=mode)}") == PIN


def test_file_keeps_spaces_and_strips_crlf(tmp_path):
    path = pin_file(tmp_path, b" 4711 \r\n")
    assert read(f"file:{path}") == " 4711 "


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o700, 0o200, 0o4600])
def test_file_refuses_any_other_mode(tmp_path, mode):
    path = pin_file(tmp_path, mode=mode)
    assert refused(f"file:{path}") == (
        f"pin-file-mode | ceremony: error: PIN for the crypto officer: {path} has mode "
        f"{mode:04o}, not 0600 or 0400. Run chmod 600 {path}"
    )


def test_file_refuses_a_symlink(tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(pin_file(tmp_path))
    assert refused(f"file:{link}") == (
        f"pin-file-symlink | ceremony: error: PIN for the crypto officer: {link} is a symbolic "
        "link. Name the file itself; a link could be pointed elsewhere"
    )


def test_file_refuses_a_missing_file_without_showing_its_path(tmp_path):
    """Nothing is there, so the path may be a PIN typed after "file:": it is not shown."""
    path = tmp_path / PIN
    assert refused(f"file:{path}") == (
        "pin-file-missing | ceremony: error: PIN for the crypto officer: no file is at the path "
        "its file: source gives (not shown, in case it is a PIN). Create it with the PIN on one "
        "line and chmod 600, or choose another PIN source"
    )
    assert str(PinSource("file", str(path))) == (
        "file (path not shown: no file is there, so it may be a mistyped PIN)")
    path.write_text("")
    assert str(PinSource("file", str(path))) == f"file:{path}"


def test_file_refuses_an_unreadable_path(tmp_path):
    path = pin_file(tmp_path) / PIN
    assert refused(f"file:{path}") == (
        "pin-file-unreadable | ceremony: error: PIN for the crypto officer: the path its file: "
        "source gives (not shown) cannot be read (Not a directory). Check the path and its "
        "permissions"
    )


def test_file_refuses_a_fifo_and_a_directory_without_blocking(tmp_path):
    fifo = tmp_path / "pin.fifo"
    os.mkfifo(fifo, 0o600)
    for path in (fifo, tmp_path):
        assert refused(f"file:{path}") == (
            f"pin-file-not-regular | ceremony: error: PIN for the crypto officer: {path} is not "
            "a regular file. Give file: a plain file; use fd:N for a pipe"
        )


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_file_refuses_another_users_file(tmp_path):
    path = pin_file(tmp_path)
    os.chown(path, 65534, -1)
    assert refused(f"file:{path}") == (
        f"pin-file-owner | ceremony: error: PIN for the crypto officer: {path} is owned by uid "
        "65534, not by uid 0 running the tool. Create the PIN file as the user who runs the "
        "ceremony"
    )


def test_file_refuses_a_file_owned_by_someone_else_than_the_runner(tmp_path, monkeypatch):
    # Without root a test cannot give a file away, so the runner pretends to be another uid.
    path = pin_file(tmp_path)
    owner = path.stat().st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)
    assert refused(f"file:{path}") == (
        f"pin-file-owner | ceremony: error: PIN for the crypto officer: {path} is owned by uid "
        f"{owner}, not by uid {owner + 1} running the tool. Create the PIN file as the user who "
        "runs the ceremony"
    )


@pytest.mark.parametrize(
    ("data", "code", "problem"),
    [
        (b"", "pin-empty", "is empty"),
        (b"\n", "pin-empty", "is empty"),
        (PIN.encode() + b"\n" + PIN.encode() + b"\n", "pin-multiline", "has more than one line"),
        (PIN.encode() + b"\n\n", "pin-multiline", "has more than one line"),
        (b"7" * MAX_PIN_BYTES + b"\r\n" + b"x", "pin-too-long", "is longer than 256 bytes"),
        (b"\xfe" + PIN.encode(), "pin-not-utf8", "is not UTF-8 text"),
    ],
)
def test_file_bad_content(tmp_path, data, code, problem):
    path = pin_file(tmp_path, data)
    assert refused(f"file:{path}") == (
        f"{code} | ceremony: error: PIN for the crypto officer from file:{path} {problem}. "
        "A PIN source gives the PIN alone, on one line"
    )


# env:NAME


def test_env_reads_the_variable():
    assert read("env:CEREMONY_PIN", env={"CEREMONY_PIN": PIN}) == PIN


def test_env_defaults_to_the_process_environment(monkeypatch):
    monkeypatch.setenv("CEREMONY_TEST_PIN", PIN)
    assert read("env:CEREMONY_TEST_PIN") == PIN


def test_env_refusals():
    assert refused("env:CEREMONY_PIN", env={"OTHER": PIN}) == (
        "pin-env-unset | ceremony: error: PIN for the crypto officer: environment variable "
        "CEREMONY_PIN is not set. Export CEREMONY_PIN with the PIN, or choose another PIN source"
    )
    assert refused("env:CEREMONY_PIN", env={"CEREMONY_PIN": ""}) == (
        "pin-empty | ceremony: error: PIN for the crypto officer from env:CEREMONY_PIN is empty. "
        "A PIN source gives the PIN alone, on one line"
    )
    # os.environ keeps bytes that are not UTF-8 as surrogate escapes.
    assert refused("env:CEREMONY_PIN", env={"CEREMONY_PIN": PIN + "\udcff"}) == (
        "pin-not-utf8 | ceremony: error: PIN for the crypto officer from env:CEREMONY_PIN is not "
        "UTF-8 text. A PIN source gives the PIN alone, on one line"
    )


# keyring:SERVICE/USERNAME
#
# The test machine has no Secret Service (keyring's default there is the fail backend), so the
# happy path uses a real keyring backend class that keeps entries in memory. Priority -1 keeps
# keyring's own backend detection from ever choosing these classes.


class MemoryKeyring(KeyringBackend):
    priority = -1

    def __init__(self, entries=None):
        super().__init__()
        self.entries = dict(entries or {})

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        del self.entries[(service, username)]


class PlaintextKeyring(MemoryKeyring):
    """Stands in for keyrings.alt, which is not installed: refusal goes by module and name."""

    __module__ = "keyrings.alt.file"


class EncryptedKeyring(MemoryKeyring):
    __module__ = "keyrings.alt.file"


class LockedKeyring(MemoryKeyring):
    def get_password(self, service, username):
        raise KeyringLocked("the collection is locked")


class NoBackendKeyring(MemoryKeyring):
    def get_password(self, service, username):
        raise NoKeyringError("no backend")


class PlaintextChain(ChainerBackend):
    backends = (MemoryKeyring(), PlaintextKeyring())


@pytest.fixture
def use_keyring(monkeypatch):
    # Restore whatever keyring had (usually nothing chosen yet) after the test.
    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.core._keyring_backend)
    return keyring.set_keyring


def test_keyring_reads_an_entry(use_keyring):
    use_keyring(MemoryKeyring({("cmk-ceremony", "officer"): PIN}))
    assert read("keyring:cmk-ceremony/officer") == PIN


def test_keyring_service_may_hold_a_slash(use_keyring):
    use_keyring(MemoryKeyring({("org/cmk", "officer"): PIN}))
    assert read("keyring:org/cmk/officer") == PIN


@pytest.mark.parametrize(
    ("backend", "name"),
    [
        (fail.Keyring(), "keyring.backends.fail.Keyring"),
        (null.Keyring(), "keyring.backends.null.Keyring"),
        (PlaintextKeyring({("svc", "officer"): PIN}), "keyrings.alt.file.PlaintextKeyring"),
        (EncryptedKeyring({("svc", "officer"): PIN}), "keyrings.alt.file.EncryptedKeyring"),
        (PlaintextChain(), "keyrings.alt.file.PlaintextKeyring"),
    ],
)
def test_keyring_refuses_fail_null_and_plaintext_backends(use_keyring, backend, name):
    use_keyring(backend)
    assert refused("keyring:svc/officer") == (
        f"pin-keyring-refused | ceremony: error: PIN for the crypto officer: keyring backend "
        f"{name} is refused. It keeps no secret or keeps it in a plain file; configure a system "
        "keyring (Secret Service, macOS Keychain, Windows Credential Locker) or choose another "
        "PIN source"
    )


def test_keyring_refusals(use_keyring):
    use_keyring(MemoryKeyring({("svc", "officer"): PIN, ("svc", "blank"): ""}))
    assert refused("keyring:svc/nobody") == (
        "pin-keyring-missing | ceremony: error: PIN for the crypto officer: the keyring has no "
        "entry for service 'svc', user 'nobody'. Store it with: keyring set svc nobody"
    )
    assert refused("keyring:svc/blank") == (
        "pin-empty | ceremony: error: PIN for the crypto officer from keyring:svc/blank is "
        "empty. A PIN source gives the PIN alone, on one line"
    )
    assert refused("keyring:svc/officer/") == (
        "pin-keyring-name | ceremony: error: PIN for the crypto officer: keyring:svc/officer/ "
        "does not name both a service and a user. Write keyring:SERVICE/USERNAME"
    )
    use_keyring(NoBackendKeyring())
    assert refused("keyring:svc/officer") == (
        "pin-keyring-unavailable | ceremony: error: PIN for the crypto officer: no keyring "
        "backend is available for keyring:svc/officer. Install and unlock a system keyring "
        "(Secret Service, macOS Keychain, Windows Credential Locker), or choose another PIN "
        "source such as prompt or fd:N"
    )
    use_keyring(LockedKeyring())
    assert refused("keyring:svc/officer") == (
        "pin-keyring-failed | ceremony: error: PIN for the crypto officer: keyring backend "
        f"{LockedKeyring.__module__}.LockedKeyring failed (KeyringLocked). Unlock the keyring "
        "and retry, or choose another PIN source"
    )


@pytest.mark.parametrize("text", ["fd:\u00b2", "fd:99999999999999999999", "fd:-1", "fd:",
                                  "123456", "keyring:svc", "file:", "prompt:x", "env:123456",
                                  "env:bad name", "env:", "env:PIN-1", "env:PIN\n", "env:\u00e9",
                                  "file:/tmp/pin\x1b[31m", "keyring:svc/\u2028x"])
def test_what_is_not_a_pin_source_is_refused_without_being_repeated(text):
    with pytest.raises(ValueError) as caught:
        parse_pin_source(text)
    assert str(caught.value) == (
        "the value given is not a PIN source (not shown, in case it is a PIN); use one of "
        "prompt, pinpad, fd:N, file:PATH, env:NAME, keyring:SERVICE/USERNAME"
    )


# check_source: readable, proven without reading


def checked(source: str, **kwargs) -> str:
    with pytest.raises(BadInputError) as caught:
        check_source(parse_pin_source(source), WHO, **kwargs)
    assert PIN not in caught.value.line()
    return caught.value.code


def test_check_source_passes_a_readable_source_and_reads_nothing(tmp_path):
    path = pin_file(tmp_path)
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, PIN.encode() + b"\n")
        for source in ("prompt", "pinpad", f"fd:{read_end}", f"file:{path}", "env:CEREMONY_PIN"):
            check_source(parse_pin_source(source), WHO, env={"CEREMONY_PIN": PIN})
        assert os.read(read_end, 100) == PIN.encode() + b"\n"  # still there for the real read
    finally:
        os.close(read_end)
        os.close(write_end)


def test_check_source_refuses_what_reading_would(tmp_path, use_keyring):
    controller, terminal = os.openpty()
    closed = pipe_with(b"")
    os.close(closed)
    fifo = tmp_path / "pin.fifo"
    os.mkfifo(fifo, 0o600)
    try:
        assert checked("fd:1") == "pin-fd-reserved"
        assert checked(f"fd:{terminal}") == "pin-fd-terminal"
        assert checked(f"fd:{closed}") == "pin-fd-unreadable"
        assert checked(f"file:{tmp_path / PIN}") == "pin-file-missing"
        assert checked(f"file:{fifo}") == "pin-file-not-regular"
        assert checked(f"file:{pin_file(tmp_path, mode=0o644)}") == "pin-file-mode"
        assert checked("env:CEREMONY_PIN", env={}) == "pin-env-unset"
        use_keyring(null.Keyring())
        assert checked("keyring:svc/officer") == "pin-keyring-refused"
    finally:
        os.close(controller)
        os.close(terminal)


# A PIN typed where its source belongs, in a real plan: refused before anything is written

TYPED = "12345678"  # a PIN typed after "env:" or "file:"
FILE_MISSING = (
    "ceremony: error: PIN for user of token test: no file is at the path its file: source gives "
    "(not shown, in case it is a PIN). Create it with the PIN on one line and chmod 600, or "
    "choose another PIN source\n"
)


def typed_plan(tmp_path, kek, source: str):
    plan = small_plan(tmp_path / "plan", kek)
    plan.write_text(plan.read_text().replace('"env:CEREMONY_USER_PIN"', json.dumps(source)))
    return plan


def assert_nowhere(tmp_path, plan, captured) -> None:
    """The typed PIN is in the plan the person wrote, and in nothing the tool printed or made."""
    assert TYPED not in captured.out + captured.err
    assert not (plan.parent / "out").exists()
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != plan:
            assert TYPED.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("source", [f"env:{TYPED}", f"env:bad name {TYPED}"])
def test_an_env_source_that_is_no_variable_name_is_refused_unseen(
        tmp_path, token_store, vault_kek, capsys, source):
    plan = typed_plan(tmp_path, vault_kek, source)
    env = {**token_store.env, **PIN_ENV}
    for argv in (["plan", "check", str(plan)], ["run", str(plan), "--yes"]):
        assert main(argv, env=env) == ExitCode.BAD_INPUT
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == (
            f"ceremony: error: {plan}: hsm.user_pin: is not a PIN source (value not shown: a "
            "plan must never hold a PIN); use one of prompt, pinpad, fd:N, file:PATH, env:NAME, "
            "keyring:SERVICE/USERNAME, or a split PIN { parts = [ { custodian = NAME, source = "
            "SOURCE }, ... ] }\n"
            f"ceremony: error: {plan}: 1 problem. Fix the plan and run `ceremony plan check "
            f"{plan}` again; nothing was touched\n"
        )
        assert_nowhere(tmp_path, plan, captured)


def test_a_file_source_naming_no_file_is_refused_unseen(tmp_path, token_store, vault_kek, capsys):
    plan = typed_plan(tmp_path, vault_kek, f"file:{TYPED}")
    env = {**token_store.env, **PIN_ENV}
    assert main(["plan", "check", str(plan)], env=env) == ExitCode.BAD_INPUT
    captured = capsys.readouterr()
    assert ("Wrap policy trusted; user PIN from file (path not shown: no file is there, so it "
            "may be a mistyped PIN); SO PIN from env:CEREMONY_SO_PIN (not read by plan check)\n"
            in captured.out)
    assert captured.err == FILE_MISSING
    assert_nowhere(tmp_path, plan, captured)
    assert main(["run", str(plan), "--yes"], env=env) == ExitCode.BAD_INPUT
    captured = capsys.readouterr()
    assert captured.err == FILE_MISSING
    assert_nowhere(tmp_path, plan, captured)


def test_a_run_checks_every_source_before_it_writes(tmp_path, token_store, vault_kek, capsys):
    """An unset variable is the run's to find (plan check runs the day before, without it)."""
    plan = small_plan(tmp_path / "plan", vault_kek)
    env = {**token_store.env, "CEREMONY_USER_PIN": PIN_ENV["CEREMONY_USER_PIN"]}
    assert main(["plan", "check", str(plan)], env=env) == ExitCode.OK
    capsys.readouterr()
    assert main(["run", str(plan), "--yes"], env=env) == ExitCode.BAD_INPUT
    assert capsys.readouterr().err == (
        "ceremony: error: PIN for SO of token test: environment variable CEREMONY_SO_PIN is not "
        "set. Export CEREMONY_SO_PIN with the PIN, or choose another PIN source\n"
    )
    assert not (plan.parent / "out").exists()


@pytest.mark.parametrize(("typed", "problem"), [
    ("", "pin-empty: PIN for user of token t from prompt is empty"),
    ("12\n34", "pin-multiline: PIN for user of token t from prompt has more than one line"),
    ("9" * 257, "pin-too-long: PIN for user of token t from prompt is longer than 256 bytes"),
    ("12\udc8034", "pin-not-utf8: PIN for user of token t from prompt is not UTF-8 text"),
])
def test_a_front_ends_own_pin_field_is_held_to_the_same_rules(typed, problem):
    with pytest.raises(BadInputError) as caught:
        accept_pin(typed, PinSource("prompt"), "user of token t")
    assert f"{caught.value.code}: {caught.value.message}" == problem
    assert not typed or typed not in caught.value.line()


def test_a_front_ends_pin_field_gives_the_pin_alone():
    pin = accept_pin("123456\r\n", PinSource("prompt"), "user of token t")
    assert pin.reveal() == "123456"
