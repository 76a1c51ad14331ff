"""NO_COLOR (no-color.org) is honoured: the wizard draws in shades of grey only, so the meaning
of what it shows rests on symbols and words."""

import re

import pytest

from tests.tui.tmux import TmuxWizard

COLOUR = re.compile(r"\x1b\[([0-9;]*)m")


def rgb_of_256(index: int) -> tuple[int, int, int]:
    """The xterm 256-colour palette: 16 system colours, a 6x6x6 cube, 24 greys."""
    system = [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0), (0, 0, 128), (128, 0, 128),
              (0, 128, 128), (192, 192, 192), (128, 128, 128), (255, 0, 0), (0, 255, 0),
              (255, 255, 0), (0, 0, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255)]
    if index < 16:
        return system[index]
    if index >= 232:
        return (8 + 10 * (index - 232),) * 3
    levels = (0, 95, 135, 175, 215, 255)
    index -= 16
    return levels[index // 36], levels[index // 6 % 6], levels[index % 6]


def colours(screen: str) -> set[tuple[int, int, int]]:
    """Every foreground and background colour the escape codes on `screen` set."""
    found = set()
    for codes in COLOUR.findall(screen):
        parts = [int(part) for part in codes.split(";") if part]
        while parts:
            code = parts.pop(0)
            if code in (38, 48) and parts and parts[0] == 5:
                found.add(rgb_of_256(parts[1]))
                del parts[:2]
            elif code in (38, 48) and parts and parts[0] == 2:
                found.add(tuple(parts[1:4]))
                del parts[:4]
            elif 30 <= code <= 37 or 40 <= code <= 47 or 90 <= code <= 97 or 100 <= code <= 107:
                found.add(rgb_of_256(code % 10 + (8 if code >= 90 else 0)))
    return found


def grey(colour: tuple[int, int, int]) -> bool:
    return max(colour) - min(colour) <= 2


@pytest.mark.parametrize("no_color", [True, False])
def test_no_color_draws_the_wizard_in_grey(tmp_path, token_store, no_color):
    env = {**token_store.env, **({"NO_COLOR": "1"} if no_color else {})}
    wizard = TmuxWizard(tmp_path, None, env)
    try:
        wizard.wait_for("Step 1 of")
        drawn = colours(wizard.screen(escapes=True))
    finally:
        wizard.close()
    assert drawn
    assert all(map(grey, drawn)) is no_color
