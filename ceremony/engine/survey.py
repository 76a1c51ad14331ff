"""What an interrupted ceremony did and what resuming it would do, read before anyone decides.

A front end shows this before it offers resume or abort. The journal is read as the engine
reads it when it resumes (replay.read_state, believing only lines the token's ceremony signer
sealed), so what is shown as done is exactly what a resume skips. Reading needs the token's
signer public key, which needs no PIN; the token is taken (its lock too) only for that read and
released before this returns. Nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ceremony.awaiting import off_loop
from ceremony.engine.replay import CeremonyState, read_state
from ceremony.engine.steps import Step, planned_steps
from ceremony.hsm.module import find_module
from ceremony.hsm.service import HsmService
from ceremony.plan.model import Plan


@dataclass(frozen=True)
class Survey:
    state: CeremonyState
    done: tuple[Step, ...]  # steps of the plan the sealed journal shows done: a resume skips them
    left: tuple[Step, ...]  # the steps a resume takes, in order (what it publishes)


async def survey(plan: Plan, directory: Path, env: Mapping[str, str]) -> Survey:
    """The state of the ceremony in `directory` and the steps done and left; refuses what the
    engine refuses (a copied directory, another plan, a forged journal, a finished ceremony)."""
    hsm = plan.hsm
    module = find_module(str(hsm.module) if hsm.module else None, env)
    service = await off_loop(HsmService, module, env)
    try:
        await service.call(service.select, label=hsm.token, serial=hsm.serial)
        public = await service.call(service.signer_public)
    finally:
        await service.call(service.close)
    state, _ = await off_loop(read_state, directory, plan, public, aborting=True)
    left = planned_steps(plan, state)
    ids = {step.id for step in left}
    return Survey(state, tuple(s for s in planned_steps(plan) if s.id not in ids), left)
