"""Textual applies a screen's CSS file to the whole app once it is loaded, so a rule written for
one screen reaches every other one (a KEK step's `.row Label { width: 10 }` cut the key form's
labels short). Each screen's file therefore names its screens in every selector; only
step.tcss, the frame all plan-building steps share, is written for all of them."""

import re
from pathlib import Path

SCREENS = Path(__file__).parents[2] / "tui" / "screens"
SHARED = {"step.tcss"}


def selectors(text: str) -> list[str]:
    """Every selector of every rule in a .tcss text."""
    heads = re.findall(r"(?ms)^([^\s{}][^{}]*?)\s*\{", text)
    return [part.strip() for head in heads for part in head.split(",")]


def test_every_screen_rule_names_its_screen():
    unscoped = [(path.name, selector)
                for path in sorted(SCREENS.glob("*.tcss")) if path.name not in SHARED
                for selector in selectors(path.read_text())
                if not selector.split()[0][0].isupper()]
    assert unscoped == []
    assert ("keks.tcss", "KeksScreen #files") in [
        (path.name, selector) for path in SCREENS.glob("*.tcss")
        for selector in selectors(path.read_text())]
