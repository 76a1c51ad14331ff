"""The dry run behind `ceremony plan check`: what the real run would find on the token and write.

It opens the token read-only and never logs in, so no PIN is read and nothing on the token can
change; it only answers the questions that would stop a ceremony after the people have
gathered: is the token there, can it wrap for BYOK, and are the key labels free. Without a
login only public objects are visible, so a label that looks free is checked again after login.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ceremony.errors import TokenError
from ceremony.export import export_paths
from ceremony.hsm import HsmService
from ceremony.hsm.tokens import TokenInfo
from ceremony.plan_model import Plan

# (mechanism name as TokenInfo lists it, what the ceremony needs it for)
REQUIRED = (
    ("RSA-PKCS-OAEP", "wrap the ephemeral AES key with the KEK (RSA-OAEP, SHA-1)"),
    ("AES-KEY-WRAP-PAD (KWP)", "wrap each key with the ephemeral AES key (RFC 5649)"),
    ("EC-KEY-PAIR-GEN", "create the record signer (EC P-384)"),
    ("ECDSA", "sign the ceremony record"),
)
GENERATE = {
    "rsa": ("RSA-PKCS-KEY-PAIR-GEN", "generate the RSA keys"),
    "ec": ("EC-KEY-PAIR-GEN", "generate the EC keys"),
    "aes": ("AES-KEY-GEN", "generate the AES keys"),
}
ONE_STEP = "RSA-AES-KEY-WRAP"
TWO_STEP_NOTE = (
    "absent: each key is wrapped in two steps (KWP, then RSA-OAEP), which gives the same .byok"
)
ONE_STEP_NOTE = "present, but the ceremony wraps in two steps all the same (same .byok)"
LABELS_NOTE = (
    "without a login only public objects are visible; private objects (AES keys, private keys) "
    "are checked again after login, before any key is generated"
)


@dataclass(frozen=True)
class MechanismCheck:
    name: str
    present: bool
    needed_for: str  # empty for the optional one-step mechanism


@dataclass(frozen=True)
class LabelCheck:
    key: str
    label: str
    free: bool


@dataclass(frozen=True)
class DryRun:
    """What the token showed, and the TokenErrors that would stop the real run (if any)."""

    token: TokenInfo
    mechanisms: tuple[MechanismCheck, ...]
    one_step_wrap: bool
    labels: tuple[LabelCheck, ...]
    files: tuple[str, ...]
    problems: tuple[TokenError, ...]

    @property
    def ready(self) -> bool:
        return not self.problems


def planned_files(plan: Plan) -> tuple[str, ...]:
    """The files the ceremony writes under `plan.ceremony_dir` (DESIGN.md section 4)."""
    files = ["plan.toml", "journal.jsonl", "record.json", "record.json.sig", "signer.pub.pem"]
    for key in plan.keys:
        files += [path.as_posix() for path in
                  export_paths(Path("keys"), key.name, key.spec.asymmetric)]
    return (*files, "runbook.md", "report.md")


def needed_mechanisms(plan: Plan) -> tuple[tuple[str, str], ...]:
    """Mechanisms the run needs: BYOK wrapping, the record signer, and key generation."""
    kinds = {key.spec.kind for key in plan.keys if key.origin == "generate"}
    needed: dict[str, str] = dict(REQUIRED)
    for kind in ("rsa", "ec", "aes"):
        if kind in kinds:
            needed.setdefault(*GENERATE[kind])  # EC-KEY-PAIR-GEN is listed once
    return tuple(needed.items())


def dry_run(plan: Plan, service: HsmService) -> DryRun:
    """Select the plan's token (taking its lock), read it without login, and close it."""
    try:
        service.select(label=plan.hsm.token, serial=plan.hsm.serial)
        token = service.info()
        labels = tuple(LabelCheck(k.name, k.label, service.label_free(k.label)) for k in plan.keys)
    finally:
        service.close()
    mechanisms = tuple(
        MechanismCheck(name, token.has_mechanism(name), why)
        for name, why in needed_mechanisms(plan)
    )
    problems = [_missing(token, check) for check in mechanisms if not check.present]
    problems += [label_taken(token.label, check.key, check.label)
                 for check in labels if not check.free]
    return DryRun(
        token=token,
        mechanisms=mechanisms,
        one_step_wrap=token.has_mechanism(ONE_STEP),
        labels=labels,
        files=planned_files(plan),
        problems=tuple(problems),
    )


def _missing(token: TokenInfo, check: MechanismCheck) -> TokenError:
    return TokenError(
        "mechanism-missing",
        f"token {token.label} lacks mechanism {check.name}, needed to {check.needed_for}",
        "Use a token that offers it; `ceremony token info` lists the BYOK mechanisms",
    )


def label_taken(token: str, key: str, label: str) -> TokenError:
    return TokenError(
        "label-taken", f"label {label!r} of key {key} is already taken on token {token}",
        "Choose a new label in the plan; the tool never reuses or overwrites a key",
    )
