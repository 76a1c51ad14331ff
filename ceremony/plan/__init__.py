"""The reviewed TOML plan: model, fields, loading, keys, coverage and the dry run."""
