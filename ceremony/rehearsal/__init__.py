"""Stand-ins for rehearsals and tests only: a second token playing Azure's vault."""
