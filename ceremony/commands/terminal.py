"""The workstation's terminal (/dev/tty), read without blocking the event loop.

Questions and PIN prompts wait for a line as an await on the terminal's descriptor, not in a
worker thread, so Ctrl-C stops a ceremony at once even while it waits for someone to type: the
engine journals the interruption and the process ends with exit 130. A PIN is read with echo
off, and the terminal's settings are restored however the read ends.
"""

from __future__ import annotations

import asyncio
import os
import termios


class Terminal:
    """/dev/tty, opened twice: a non-blocking descriptor to read, a blocking one to write."""

    def __init__(self) -> None:
        flags = os.O_NOCTTY | os.O_CLOEXEC
        self._reader = os.open("/dev/tty", os.O_RDONLY | os.O_NONBLOCK | flags)
        try:
            self._writer = os.open("/dev/tty", os.O_WRONLY | flags)
        except OSError:
            os.close(self._reader)
            raise

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc) -> None:
        os.close(self._reader)
        os.close(self._writer)

    def say(self, text: str) -> None:
        self._write(text + "\n")

    async def ask(self, text: str) -> str:
        """The line typed after `text`; "" when input ended (Ctrl-D)."""
        self._write(text)
        return await self._line()

    async def ask_secret(self, text: str) -> str:
        """The line typed after `text` with echo off; EOFError when input ended.

        Echo goes off before the prompt shows, and anything typed before it is dropped (as
        getpass does), so no keystroke of a PIN is ever echoed."""
        saved = termios.tcgetattr(self._reader)
        quiet = list(saved)
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(self._reader, termios.TCSAFLUSH, quiet)
        try:
            self._write(text)
            line = await self._line()
        finally:
            termios.tcsetattr(self._reader, termios.TCSAFLUSH, saved)
            self._write("\n")
        if not line:
            raise EOFError
        return line

    def _write(self, text: str) -> None:
        data = text.encode("utf-8", "replace")
        while data:
            data = data[os.write(self._writer, data):]

    async def _line(self) -> str:
        data = bytearray()
        while not data.endswith(b"\n"):
            try:
                chunk = os.read(self._reader, 4096)
            except BlockingIOError:
                await self._readable()
                continue
            if not chunk:
                break
            data += chunk
        return data.decode("utf-8", "surrogateescape")

    async def _readable(self) -> None:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        loop.add_reader(self._reader, lambda: ready.done() or ready.set_result(None))
        try:
            await ready
        finally:
            loop.remove_reader(self._reader)
