"""The headless command line: `ceremony ...`. Parses arguments, runs one command, owns exit codes.

`main(argv) -> int` never raises for a user's mistake: a CeremonyError becomes one line on
stderr and its documented exit code (errors.py); a traceback appears only with --debug. Only
the module of the command that runs is imported (commands/arguments.py names the handlers), so
`--version` and `--help` start without the HSM code or the engine.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence

from ceremony import __version__
from ceremony.commands import arguments
from ceremony.errors import (
    BadInputError,
    CeremonyError,
    ExitCode,
    Terminated,
    exit_code_for,
    stop_line,
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage mistakes as BadInputError instead of exiting."""

    def error(self, message: str):
        raise BadInputError("usage", f"{self.prog}: {message}", f"See '{self.prog} --help'")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ceremony", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"cmk-ceremony {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    arguments.register(commands)
    return parser


def handler(name: str) -> Callable[..., int | None]:
    """The function a "module:function" name from commands/arguments.py stands for, imported now."""
    module, function = name.split(":")
    return getattr(importlib.import_module(f"ceremony.commands.{module}"), function)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if env is None else env
    debug = "--debug" in args_list
    try:
        args = build_parser().parse_args(args_list)
        return int(handler(args.handler)(args, env) or ExitCode.OK)
    except SystemExit as stop:  # --help and --version
        return int(stop.code or 0)
    except Exception as error:
        if debug:
            raise
        print(_line(error), file=sys.stderr)
        return int(exit_code_for(error))
    except (KeyboardInterrupt, Terminated) as stop:
        if debug:
            raise
        print(stop_line(stop), file=sys.stderr)
        return int(exit_code_for(stop))


def _line(error: Exception) -> str:
    if isinstance(error, CeremonyError):
        return error.line()
    # A fault of the tool, not of the input: say so and where to find out more. The text of
    # a foreign exception is not shown: nothing vouches that it holds no secret.
    return (f"ceremony: error: internal error {type(error).__name__}. Run again with --debug "
            "for the traceback and report it; a ceremony resumes with `ceremony run --resume "
            "DIR`")

