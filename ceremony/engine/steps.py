"""The steps a ceremony will take, published before it starts: what a progress list shows.

`planned_steps` lists the steps the engine is about to do, in order: for a new ceremony every
step of the plan; for a resume only those the journal's sealed lines do not show as done, by the
same rules the engine follows when it skips them. The engine emits a transient `step-started`
event (not journaled) as each begins, carrying the step's id, so a front end can tick the list
off, and names the step when an interruption stops it. A test holds the two to each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from ceremony.engine.replay import CeremonyState
from ceremony.plan.model import Plan


@dataclass(frozen=True)
class Step:
    id: str  # stable: "kek:<name>", "create:<key>", "sign", ...
    title: str  # what is under way, as a person reads it: "creating key services"

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title}


def kek_step(name: str) -> Step:
    return Step(f"kek:{name}", f"confirming KEK {name}")


def create_step(name: str) -> Step:
    return Step(f"create:{name}", f"creating key {name}")


def readback_step(name: str) -> Step:
    return Step(f"readback:{name}", f"the read-back of key {name}")


def export_step(name: str) -> Step:
    return Step(f"export:{name}", f"exporting key {name}")


def destroy_step(name: str) -> Step:
    return Step(f"destroy:{name}", f"destroying key {name}")


TRUSTED = Step("trusted", "staging trusted wrapping with the SO PIN")
LOGIN = Step("login", "logging in")
SELF_TEST = Step("self-test", "the wrap self-test")
SIGNER = Step("signer", "readying the ceremony signer")
SIGN_OFFS = Step("sign-offs", "collecting the sign-offs")
DOCUMENTS = Step("documents", "writing the documents")
SIGN = Step("sign", "signing the record")
VERIFY = Step("verify", "verifying the outputs")


def planned_steps(plan: Plan, done: CeremonyState | None = None) -> tuple[Step, ...]:
    """The steps a run (`done` None) or a resume (`done`: what the journal shows) will take."""
    keks_confirmed = done.keks_confirmed if done else set()
    confirmed = done.confirmed if done else set()
    exported = done.exported if done else {}
    destroy_confirmed = done.destroy_confirmed if done else set()
    destroyed = done.destroyed if done else set()
    steps = [kek_step(kek.name) for kek in plan.keks if kek.name not in keks_confirmed]
    if plan.hsm.wrap_policy == "trusted" and any(k.name not in exported for k in plan.keys):
        steps.append(TRUSTED)
    steps += [LOGIN, SELF_TEST, SIGNER]
    for key in plan.keys:
        if key.name in destroy_confirmed:
            continue  # exported and confirmed for destruction: the journal holds its facts
        steps.append(create_step(key.name))
        if key.name not in confirmed:
            steps.append(readback_step(key.name))
        if key.name not in exported:
            steps.append(export_step(key.name))
    steps.append(SIGN_OFFS)
    steps += [destroy_step(key.name) for key in plan.keys
              if key.after_export == "destroy" and key.name not in destroyed]
    return (*steps, DOCUMENTS, SIGN, VERIFY)
