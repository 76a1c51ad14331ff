"""`ceremony tui PLAN`: the ceremony in the Textual wizard (tui/), loaded only for this command.

The core never imports textual, nor the wizard: the wizard's module is loaded here by name, when
this command runs, the way cli.py loads a command's handler. What the wizard leaves behind is
told as `ceremony run` tells it: the directory on stdout, the lines for the paper log on stderr,
an engine error as its one line and exit code, a closed wizard as an interruption (exit 130).
"""

from __future__ import annotations

import importlib
import sys

from ceremony.plan.load import load_plan


def run_tui(args, env) -> int:
    wizard = importlib.import_module("tui.app")
    app = wizard.WizardApp(load_plan(args.plan), env)
    app.run()
    if app.error is not None:
        raise app.error
    outcome = app.outcome
    if outcome is None:
        raise KeyboardInterrupt  # closed before the end: the engine journaled `interrupted`
    print(str(outcome.directory))
    print(f"for the paper log: record.json SHA-256 {outcome.record_sha256}; signer "
          f"{outcome.signer_fingerprint}; journal.jsonl ends at line {outcome.journal_lines} "
          f"with SHA-256 {outcome.journal_head}", file=sys.stderr)
    return 0
