"""One error, one line: names and paths people give are shown escaped, never executed.

A path named on the command line, a value in a plan or a label on the token may hold a newline
or an escape sequence. Every error line, warning, narration line and operator prompt escapes
them (errors.printable), so one error stays one line and the terminal shows the characters as
text instead of obeying them.
"""

from __future__ import annotations

import pytest

from ceremony.cli import main
from ceremony.commands.progress import Narrator
from ceremony.commands.tty import TtyOperator
from ceremony.engine.decisions import signed_off
from ceremony.engine.events import Event, WarningGiven
from ceremony.errors import BadInputError, ExitCode, StepFailed, printable
from ceremony.plan.fields import ONE_LINE_RULE

HOSTILE = "kek\n\x1b[31mred.pem"
SHOWN = "kek\\n\\x1b[31mred.pem"


@pytest.mark.parametrize(("text", "shown"), [
    ("plain é ü 鍵 text", "plain é ü 鍵 text"),
    ("a\nb\rc\td", "a\\nb\\rc\\td"),
    ("\x00\x1b[2J\x7f", "\\x00\\x1b[2J\\x7f"),
    ("c1\x85\x9b", "c1\\x85\\x9b"),
    ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    ("bidi\u202e\u2066", "bidi\\u202e\\u2066"),
    ("tag\U000e0041", "tag\\U000e0041"),
])
def test_printable_escapes_every_unprintable_character(text, shown):
    assert printable(text) == shown


def test_an_error_line_escapes_its_message_and_hint():
    error = BadInputError("x", "file a\nb", "Fix \x1b[0m it")
    assert error.line() == "ceremony: error: file a\\nb. Fix \\x1b[0m it"


def assert_one_line(err: str) -> None:
    assert err.count("\n") == 1 and err.endswith("\n")
    assert "\x1b" not in err and "\r" not in err


def test_a_kek_path_with_a_newline_and_an_escape_is_one_line(tmp_path, capsys):
    path = tmp_path / HOSTILE
    assert main(["kek", "inspect", str(path)]) == ExitCode.BAD_INPUT
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"ceremony: error: KEK file {tmp_path}/{SHOWN} cannot be read: No such file or "
        "directory. Check the path to the KEK file copied from the online workstation\n"
    )
    assert_one_line(captured.err)
    assert list(tmp_path.iterdir()) == []  # nothing written

    path.write_text("not a key")
    assert main(["kek", "inspect", str(path)]) == ExitCode.BAD_INPUT
    captured = capsys.readouterr()
    assert captured.err == (
        f"ceremony: error: KEK file {tmp_path}/{SHOWN} is neither a PEM or DER public key nor "
        "`az keyvault key show` JSON. Download the KEK with `az keyvault key download "
        "--encoding PEM --file kek.pem`\n"
    )
    assert_one_line(captured.err)
    assert list(tmp_path.iterdir()) == [path]


def test_a_plan_path_with_an_escape_is_one_line_per_problem(tmp_path, capsys):
    path = tmp_path / "plan\x1b]0;owned\x07.toml"
    shown = f"{tmp_path}/plan\\x1b]0;owned\\x07.toml"
    assert main(["plan", "check", str(path)]) == ExitCode.BAD_INPUT
    captured = capsys.readouterr()
    assert captured.err == (
        f"ceremony: error: plan file {shown} cannot be read (No such file or directory). Check "
        "the path of the plan file\n"
    )
    assert_one_line(captured.err)
    path.write_text('[ceremony]\nid = "c\\u001b[31m"\n"x\\u2028y" = 1\n')
    assert main(["plan", "check", str(path)]) == ExitCode.BAD_INPUT
    lines = capsys.readouterr().err.splitlines()
    assert lines[:2] == [
        f"ceremony: error: {shown}: ceremony.x\\u2028y: unknown key (allowed: id, purpose, "
        "workspaces, previous_record)",
        f"ceremony: error: {shown}: ceremony.id: contains a control character (\\x1b); "
        f"{ONE_LINE_RULE}",
    ]
    assert all("\x1b" not in line and "\u2028" not in line for line in lines)
    assert list(tmp_path.iterdir()) == [path]


def test_narration_is_one_line_per_event(capsys):
    with Narrator(as_json=False, total=0, live=False) as narrator:
        narrator.event(Event(WarningGiven(), "token label lab\n\x1b[2Jel", seq=7))
    assert capsys.readouterr().err == "[  7] warning: token label lab\\n\\x1b[2Jel\n"


async def test_the_terminal_operator_shows_names_escaped():
    """The token's own label (not the plan's) reaches the statement people sign off."""
    said, asked = [], []

    async def ask(text):
        asked.append(text)
        return "Wes"

    operator = TtyOperator(ask, said.append)
    statement = "I witnessed ceremony c1 on token evil\x1b[8m (serial 1)"
    typed = await operator.acknowledge("Wes\x1b", "witness", statement)
    with pytest.raises(StepFailed) as refused:
        signed_off(typed, "Wes\x1b", "witness")
    assert said == ["I witnessed ceremony c1 on token evil\\x1b[8m (serial 1)"]
    assert asked == ["Wes\\x1b (witness), type your name to sign off: "]
    assert refused.value.line() == (
        "ceremony: error: Wes\\x1b did not sign off (witness). The ceremony stops without a "
        "record; resume it when everyone agrees"
    )
