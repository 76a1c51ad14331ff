"""`python -m ceremony` runs the CLI."""

from ceremony.entry import run

run()
