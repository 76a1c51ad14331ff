"""One module per CLI command group; each registers its subcommands and handlers."""
