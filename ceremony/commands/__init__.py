"""The CLI's commands: arguments.py declares them all; one module per command group holds its
handlers and is imported only when one of them runs."""
