"""`ceremony tui`: the ceremony in the Textual wizard (tui/), loaded only for this command.

The core never imports textual, nor the wizard: this module imports the wizard only inside
run_tui, when the command runs (DESIGN.md section 2; tests/test_core_imports.py holds it to that).
What the wizard leaves behind is told as the headless commands tell it: a finished ceremony's
directory on stdout and the lines for the paper log on stderr (`ceremony run`), an abort exits 0
(`ceremony abort`), a verification prints what held and exits 0, or 4 when it did not hold
(`ceremony verify`), an engine error is its one line and exit code, and a wizard closed before
the ceremony ended is an interruption (exit 130).

A plan whose ceremony directory already holds a journal is not refused as an existing output
directory: the wizard opens that ceremony to resume or abort it (or verify it, once finished).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ceremony.commands.run import tell_outcome
from ceremony.commands.verify import summary
from ceremony.engine.replay import plan_of
from ceremony.errors import CeremonyError, ExitCode, printable
from ceremony.layout import CeremonyDir
from ceremony.plan.load import load_plan
from ceremony.plan.model import Plan


def _opening(args) -> tuple[Plan | None, Path | None]:
    """The plan and the ceremony directory the wizard opens (either may be None)."""
    if args.verify is not None:
        return None, args.verify
    if args.resume is not None:
        return plan_of(args.resume), args.resume
    if args.plan is None:
        return None, None
    plan = load_plan(args.plan, resuming=True)
    if CeremonyDir(plan.ceremony_dir).journal.is_file():
        return plan, plan.ceremony_dir
    return load_plan(args.plan), None


def run_tui(args, env) -> int:
    from tui.app import WizardApp
    from tui.state import WizardState

    plan, directory = _opening(args)
    state = WizardState(env=env, media=(args.media or Path.cwd()).absolute(),
                        plan_path=plan.path if plan else Path.cwd() / "plan.toml", plan=plan)
    app = WizardApp(state, directory, verifying=args.verify is not None)
    app.run()
    if app.error is not None:
        raise app.error
    if app.verifying or app.verification is not None:
        return _verified(app.verification, app.directory)
    return _ran(app)


def _ran(app) -> int:
    if app.outcome is None and app.started:  # closed mid-run: the engine journaled it
        print(printable(f"ceremony: interrupted; the journal records it. Resume it with "
                        f"`ceremony tui --resume {app.directory}`, or abort it with "
                        f"`ceremony abort {app.directory}`"), file=sys.stderr)
        return ExitCode.INTERRUPTED
    if app.outcome is None:
        print("ceremony: the wizard was closed before the ceremony started; nothing was "
              "written", file=sys.stderr)
        return ExitCode.INTERRUPTED
    if isinstance(app.outcome, int):
        return 0  # an abort: the keys it destroyed were told on the screen and journaled
    tell_outcome(app.outcome)
    return 0


def _verified(verification, directory: Path) -> int:
    if verification is None:
        print(f"ceremony: {directory} was not verified: the wizard was closed first",
              file=sys.stderr)
        return ExitCode.VERIFY
    if isinstance(verification, CeremonyError):
        print(verification.line(), file=sys.stderr)
        return ExitCode.VERIFY
    print(summary(verification, None))
    return 0
