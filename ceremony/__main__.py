"""`python -m ceremony` runs the CLI."""

from ceremony.cli import run

run()
