"""A fingerprint as people read it aloud: hex in groups of four, then the PGP words, in rows;
or the hex groups alone in large type (LargeHex), for reading across a room."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Digits, Static

GROUPS_PER_ROW = 8  # 8 groups of 4 hex digits: 39 columns
WORDS_PER_ROW = 6  # the longest PGP word has 11 letters: 6 fit in 71 columns
WORD_WIDTH = 11
LARGE_GROUPS_PER_ROW = 4  # a large hex digit is 3 columns wide: 4 groups take 60 columns


def fingerprint_rows(value: str, words: list[str]) -> list[str]:
    """The rows shown: the hex groups, then the words, each word padded to one column width."""
    groups = value.split(" ")
    rows = [" ".join(groups[i:i + GROUPS_PER_ROW]) for i in range(0, len(groups), GROUPS_PER_ROW)]
    rows += [" ".join(word.ljust(WORD_WIDTH) for word in words[i:i + WORDS_PER_ROW]).rstrip()
             for i in range(0, len(words), WORDS_PER_ROW)]
    return rows


class Fingerprint(Static):
    """The rows of `fingerprint_rows`, as plain text."""

    DEFAULT_CSS = """
    Fingerprint { text-style: bold; margin: 1 0; }
    """

    def __init__(self, value: str, words: list[str]) -> None:
        super().__init__("\n".join(fingerprint_rows(value, words)), markup=False)


class LargeHex(Vertical):
    """The hex groups in large type (Textual's Digits), four groups a row."""

    DEFAULT_CSS = """
    LargeHex { height: auto; margin: 1 0; }
    """

    def __init__(self, value: str, **options) -> None:
        super().__init__(**options)
        self._groups = value.split(" ")

    def compose(self) -> ComposeResult:
        for start in range(0, len(self._groups), LARGE_GROUPS_PER_ROW):
            yield Digits(" ".join(self._groups[start:start + LARGE_GROUPS_PER_ROW]))
