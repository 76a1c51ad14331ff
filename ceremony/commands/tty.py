"""The CLI's operator: people answer at the terminal, line by line (the engine's Operator)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from contextlib import ExitStack

from ceremony.commands.terminal import Terminal
from ceremony.engine.decisions import final_try_action
from ceremony.engine.operator import YES
from ceremony.errors import printable
from ceremony.pins import Pinpad, PinSource, accept_pin, prompt_closed, read_pin
from ceremony.secret import SecretPin

Ask = Callable[[str], Awaitable[str]]
Say = Callable[[str], None]


class TtyOperator:
    """Line prompts at the terminal; PINs with echo off through the PIN source `prompt`.

    `ask` awaits the line typed after a question (terminal.py reads it without blocking the
    event loop, so Ctrl-C stops a question at once); `ask_secret` does the same with echo off,
    for PIN prompts. What it shows names keys, people, KEKs and the token's own label, so each
    line goes out with its control characters escaped: one line stays one line, and no escape
    sequence reaches the terminal."""

    kind = "tty"
    scripted = False

    def __init__(self, ask: Ask, say: Say, env: Mapping[str, str] = os.environ,
                 ask_secret: Ask | None = None) -> None:
        self._ask = ask
        self._say = say
        self._ask_secret = ask_secret
        self.env = env

    async def _question(self, text: str) -> str:
        return (await self._ask(printable(text))).strip()

    async def pin(self, who: str, source: PinSource) -> SecretPin | Pinpad:
        if source.kind != "prompt" or self._ask_secret is None:
            return await read_pin(source, who, env=self.env)
        try:
            typed = await self._ask_secret(printable(f"PIN for {who}: "))
        except EOFError:
            raise prompt_closed(who) from None
        return accept_pin(typed, source, who)

    def _tell(self, text: str) -> None:
        self._say(printable(text))

    def _show(self, title: str, value: str, words: list[str]) -> None:
        self._tell(f"{title}: {value}")
        for start in range(0, len(words), 8):
            self._tell("  " + " ".join(words[start:start + 8]))

    async def _yes_or_no(self, question: str) -> bool:
        return (await self._question(question)).lower() == "yes"

    async def confirm_kek(self, administrator, name, kid, value, words) -> bool:
        self._show(f"KEK {name} ({kid})", value, words)
        return await self._yes_or_no(
            f"{administrator}, compare this with the KEK fingerprint noted on the online "
            "workstation. Do they match? Type yes or no: ")

    async def confirm_readback(self, custodian, key, value, words) -> bool:
        self._show(f"Key {key}", value, words)
        return await self._yes_or_no(
            f"{custodian}, read these words aloud for the paper log. Type yes once the log "
            "matches the screen, or no to stop: ")

    async def acknowledge(self, participant, role, statement) -> str:
        self._tell(statement)
        return await self._question(f"{participant} ({role}), type your name to sign off: ")

    async def confirm_final_try(self, role, token) -> str:
        return await self.confirm_irreversible(final_try_action(role, token))

    async def confirm_irreversible(self, action) -> str:
        return await self._question(f"{action}. This cannot be undone. Type {YES} to go on: ")


def at_the_terminal(env: Mapping[str, str], stack: ExitStack) -> TtyOperator | None:
    """The TTY operator on /dev/tty (closed with `stack`), or None when no terminal is there."""
    try:
        terminal = stack.enter_context(Terminal())
    except OSError:
        return None
    return TtyOperator(terminal.ask, terminal.say, env, ask_secret=terminal.ask_secret)
