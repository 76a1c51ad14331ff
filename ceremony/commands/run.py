"""`ceremony run`, `ceremony run --resume DIR` and `ceremony abort DIR`: the headless ceremony.

stdout is data (`--json`: one event per line), stderr is narration; on a terminal a progress
bar from rich, loaded only then (the core never imports it at import time).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from contextlib import ExitStack

from ceremony.commands.progress import Narrator
from ceremony.commands.tty import at_the_terminal
from ceremony.engine.ceremony import Engine
from ceremony.engine.operator import ScriptedOperator
from ceremony.engine.replay import plan_of
from ceremony.engine.steps import planned_steps
from ceremony.errors import BadInputError, Terminated
from ceremony.plan.load import load_plan


def _operator(args, env, stack: ExitStack):
    if args.yes:
        return ScriptedOperator(env)
    operator = at_the_terminal(env, stack)
    if operator is None:
        raise BadInputError(
            "no-terminal", "this ceremony needs people at a terminal and none is attached",
            "Run it on a terminal, or pass --yes for a scripted run",
        )
    return operator


def _live(args, plan) -> bool:
    """A live progress bar only when nobody is asked anything at the terminal."""
    return args.yes and not plan.prompts_for_pins


async def _until_stopped(work):
    """Await `work`; SIGTERM cancels it like Ctrl-C (the engine journals the interruption and
    releases the token) and then ends the process with exit 143 instead of 130."""
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)
    loop.add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel, "SIGTERM")
    try:
        return await work
    except asyncio.CancelledError as stop:
        if stop.args == ("SIGTERM",):
            raise Terminated from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, previous)


def run_ceremony(args, env) -> int:
    if (args.plan is None) == (args.resume is None):
        raise BadInputError("usage", "give a plan file, or --resume DIR, but not both",
                            "See 'ceremony run --help'")
    resuming = args.resume is not None
    plan = plan_of(args.resume, args.plan_override) if resuming else load_plan(args.plan)
    with ExitStack() as stack, Narrator(args.json, len(planned_steps(plan)),
                                        live=_live(args, plan)) as narrator:
        operator = _operator(args, env, stack)
        engine = Engine(plan, operator, narrator.event, env, directory=args.resume)
        outcome = asyncio.run(_until_stopped(engine.resume() if resuming else engine.run()))
    if not args.json:
        tell_outcome(outcome)
    return 0


def tell_outcome(outcome) -> None:
    """A finished ceremony's directory on stdout, and on stderr what goes in the paper log."""
    print(str(outcome.directory))
    print(f"for the paper log: record.json SHA-256 {outcome.record_sha256}; signer "
          f"{outcome.signer_fingerprint}; journal.jsonl ends at line "
          f"{outcome.journal_lines} with SHA-256 {outcome.journal_head}", file=sys.stderr)


def abort_ceremony(args, env) -> int:
    plan = plan_of(args.directory, args.plan_override)
    with ExitStack() as stack, Narrator(args.json, 0, live=_live(args, plan)) as narrator:
        operator = _operator(args, env, stack)
        engine = Engine(plan, operator, narrator.event, env, directory=args.directory)
        count = asyncio.run(_until_stopped(engine.abort()))
    if args.json:
        json.dump({"destroyed": count}, sys.stdout)
        sys.stdout.write("\n")
    return 0
