"""A masked field for a PIN or a PIN part: never shown, never copied or cut, nothing pasted in.

A PIN in the clipboard outlives the ceremony and can be pasted anywhere; a pasted PIN was in a
clipboard already. So copy, cut and paste (keys, the terminal's bracketed paste, or a burst of
characters the terminal delivers as one paste) are refused with the terminal bell, and the
person is told to type the PIN.
"""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import Input


class PinField(Input):
    class Refused(Message):
        """Copy, cut or paste was refused; the screen says why."""

    def __init__(self, **options) -> None:
        super().__init__(password=True, **options)

    def _refuse(self) -> None:
        self.app.bell()
        self.post_message(self.Refused())

    def action_copy(self) -> None:
        self._refuse()

    def action_cut(self) -> None:
        self._refuse()

    def action_paste(self) -> None:
        self._refuse()

    def _on_paste(self, event: events.Paste) -> None:
        event.prevent_default()  # Input's own handler would insert the text
        event.stop()
        self._refuse()
