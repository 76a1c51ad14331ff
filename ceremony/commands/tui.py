"""`ceremony tui PLAN`: the ceremony in the Textual wizard (tui/), loaded only for this command.

The core never imports textual, nor the wizard: this module imports the wizard only inside
run_tui, when the command runs (DESIGN.md section 2; tests/test_core_imports.py holds it to that).
What the wizard leaves behind is
told as `ceremony run` tells it: the directory on stdout, the lines for the paper log on stderr,
an engine error as its one line and exit code, a closed wizard as an interruption (exit 130).
"""

from __future__ import annotations

from ceremony.commands.run import tell_outcome
from ceremony.plan.load import load_plan


def run_tui(args, env) -> int:
    from tui.app import WizardApp

    app = WizardApp(load_plan(args.plan), env)
    app.run()
    if app.error is not None:
        raise app.error
    outcome = app.outcome
    if outcome is None:
        raise KeyboardInterrupt  # closed before the end: the engine journaled `interrupted`
    tell_outcome(outcome)
    return 0
