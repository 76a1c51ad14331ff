"""Where the `ceremony` command and `python -m ceremony` start.

The command line's modules take a moment to load. Ctrl-C or SIGTERM during that moment must end
as it does later (one line on stderr, exit 130 or 143) and not with a traceback, so this module
imports nothing heavy and catches both around loading the CLI and running it.
"""

from __future__ import annotations

import signal
import sys

from ceremony.errors import Terminated, exit_code_for, stop_line


def run() -> None:
    signal.signal(signal.SIGTERM, Terminated.raise_on_signal)
    try:
        from ceremony.cli import main

        code = main()
    except (KeyboardInterrupt, Terminated) as stop:
        if "--debug" in sys.argv:
            raise
        print(stop_line(stop), file=sys.stderr)
        code = int(exit_code_for(stop))
    sys.exit(code)
