"""`ceremony tui`: the ceremony in the Textual wizard (tui/), loaded only for this command.

The core never imports textual, nor the wizard: this module imports the wizard only inside
run_tui, when the command runs (DESIGN.md section 2; tests/test_core_imports.py holds it to that).
What the wizard leaves behind is told as `ceremony run` tells it: the directory on stdout, the
lines for the paper log on stderr, an engine error as its one line and exit code, a wizard
closed before the ceremony ended as an interruption (exit 130).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ceremony.commands.run import tell_outcome
from ceremony.errors import ExitCode
from ceremony.plan.load import load_plan


def run_tui(args, env) -> int:
    from tui.app import WizardApp
    from tui.state import WizardState

    plan = load_plan(args.plan) if args.plan is not None else None
    state = WizardState(env=env, media=(args.media or Path.cwd()).absolute(),
                        plan_path=plan.path if plan else Path.cwd() / "plan.toml", plan=plan)
    app = WizardApp(state)
    app.run()
    if app.error is not None:
        raise app.error
    if app.outcome is None and app.started:
        raise KeyboardInterrupt  # closed before the end: the engine journaled `interrupted`
    if app.outcome is None:
        print("ceremony: the wizard was closed before the ceremony started; nothing was "
              "written", file=sys.stderr)
        return ExitCode.INTERRUPTED
    tell_outcome(app.outcome)
    return 0
