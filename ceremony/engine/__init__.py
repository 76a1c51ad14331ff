"""Everything a front end talks to: the ceremony engine, its events and operators."""
