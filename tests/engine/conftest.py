"""Fixtures the engine's tests share."""

from __future__ import annotations

import pytest

from tests.conftest import PIN_ENV
from tests.support.rehearsal import small_plan


@pytest.fixture
def setup(token_store, tmp_path, vault_kek):
    """A small_plan against the rehearsal vault's KEK: (plan, its ceremony directory, env)."""
    plan = small_plan(tmp_path / "plan", vault_kek)
    return plan, tmp_path / "plan" / "out" / "small", {**token_store.env, **PIN_ENV}
