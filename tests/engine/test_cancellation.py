"""Cancelling the engine: the loop never waits on the HSM, and Ctrl-C works at every prompt.

A front end runs the engine inside its own event loop (the wizard's). Cancelling it while the
token generates an RSA-4096 key must not stall that loop: the engine waits for the HSM call in
flight without blocking, journals the interruption and releases the token. At the terminal,
Ctrl-C at any question or PIN prompt of `ceremony run` ends the run at once with exit 130,
where it used to wait for Enter.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import sys
import termios
import time

import pytest

from ceremony.cli import main
from ceremony.engine.ceremony import Engine
from ceremony.engine.events import EventKind
from ceremony.engine.operator import ScriptedOperator
from ceremony.plan.load import load_plan
from tests.conftest import PIN_ENV, SO_PIN, USER_PIN, token_labels
from tests.support.rehearsal import small_plan

TICK = 0.01


def journal_of(directory):
    return [json.loads(line) for line in (directory / "journal.jsonl").read_text().splitlines()]


async def cancelled_during_generation(engine: Engine, key: str) -> float:
    """Run the engine, cancel it while the token generates `key`; the loop's largest lag."""
    generating = asyncio.Event()
    engine.emit = lambda event: (event.kind is EventKind.STEP_STARTED
                                 and event.data["step"] == f"create:{key}"
                                 and generating.set())
    lag = 0.0

    async def ticker():
        nonlocal lag
        while True:
            before = time.monotonic()
            await asyncio.sleep(TICK)
            lag = max(lag, time.monotonic() - before - TICK)

    ticking = asyncio.create_task(ticker())
    run = asyncio.create_task(engine.run())
    await generating.wait()
    await asyncio.sleep(0.2)  # the token is inside C_GenerateKeyPair now
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    ticking.cancel()
    return lag


def test_cancelling_during_rsa_4096_generation_never_stalls_the_loop(tmp_path, token_store,
                                                                    vault_kek):
    path = small_plan(tmp_path / "plan", vault_kek)
    path.write_text(path.read_text().replace("size = 2048", "size = 4096", 1))
    plan = load_plan(path)
    env = {**token_store.env, **PIN_ENV}
    started = time.monotonic()
    lag = asyncio.run(cancelled_during_generation(
        Engine(plan, ScriptedOperator(env), env=env), "services"))
    assert lag < 0.1, f"the event loop stalled for {lag:.3f} s"
    last = journal_of(plan.ceremony_dir)[-1]
    assert (last["type"], last["data"]["step"]) == ("interrupted", "creating key services")
    assert time.monotonic() - started < 120
    # The token was released: the ceremony resumes and verifies.
    assert main(["run", "--resume", str(plan.ceremony_dir), "--yes"], env=env) == 0
    assert main(["verify", str(plan.ceremony_dir), "--unpinned"]) == 0
    assert token_labels(token_store) == ["cmk-ceremony-signer", "cmk-services"]


PROMPTS = [
    (b"compare this with the KEK fingerprint", b"yes", "confirming KEK kv"),
    (b"PIN for user of token test: ", USER_PIN.encode(), "logging in"),
    (b"Type yes once", b"yes", "the read-back of key services"),
    (b"Type yes once", b"yes", "the read-back of key disks"),
    (b"Ada (administrator), type your name", b"Ada", "collecting the sign-offs"),
    (b"Wes (witness), type your name", b"Wes", "collecting the sign-offs"),
    (b"Type Yes to go on", b"Yes", "destroying key disks"),
]


@pytest.mark.parametrize("stop_at", range(len(PROMPTS)),
                         ids=[step.replace(" ", "-") for *_, step in PROMPTS])
def test_ctrl_c_at_each_prompt_ends_the_run_at_once(tmp_path, token_store, vault_kek, stop_at):
    """A pseudo-terminal plays the people; at one prompt they press Ctrl-C instead."""
    plan = small_plan(tmp_path / "plan", vault_kek)
    plan.write_text(plan.read_text().replace('user_pin = "env:CEREMONY_USER_PIN"',
                                             'user_pin = "prompt"'))
    env = {**token_store.env, "CEREMONY_SO_PIN": SO_PIN}
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty
        os.execve(sys.executable, [sys.executable, "-m", "ceremony", "run", str(plan)], env)
    screen = b""

    def until(text: bytes) -> None:
        nonlocal screen
        while text not in screen:
            ready, _, _ = select.select([fd], [], [], 60)
            assert ready, f"no {text!r} on the terminal; it shows:\n{screen.decode()}"
            screen += os.read(fd, 4096)
        screen = screen[screen.index(text) + len(text):]

    for prompt, answer, _ in PROMPTS[:stop_at]:
        until(prompt)
        os.write(fd, answer + b"\n")
    prompt, _, step = PROMPTS[stop_at]
    until(prompt)
    time.sleep(0.2)  # the run now waits for a line
    echo = termios.tcgetattr(fd)[3] & termios.ECHO
    pressed = time.monotonic()
    os.write(fd, b"\x03")  # Ctrl-C: the terminal sends SIGINT to the run
    _, status = os.waitpid(pid, 0)
    took = time.monotonic() - pressed
    rest = b""
    while select.select([fd], [], [], 0)[0]:
        try:
            rest += os.read(fd, 4096)
        except OSError:
            break
    restored = termios.tcgetattr(fd)[3] & termios.ECHO
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 130
    assert took < 1.0, f"the run took {took:.2f} s to stop"
    assert b"ceremony: interrupted; an interrupted ceremony resumes" in screen + rest
    assert b"Traceback" not in screen + rest
    assert restored, "echo is off after Ctrl-C"
    assert echo or step == "logging in"  # only the PIN prompt turns echo off
    last = journal_of(tmp_path / "plan" / "out" / "small")[-1]
    assert (last["type"], last["data"]["step"], last["data"]["cause"]) == (
        "interrupted", step, "SIGINT")
