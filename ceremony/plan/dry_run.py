"""The dry run behind `ceremony plan check`: what the real run would find on the token and write.

It opens the token read-only and never logs in, so no PIN is read and nothing on the token can
change (the PIN sources are checked, not read); it only answers the questions that would stop a
ceremony after the people have gathered: is the token there, can it wrap for BYOK, and are the
key labels free. Without a login only public objects are visible, so a label that looks free is
checked again after login.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ceremony import layout
from ceremony.errors import BadInputError, CeremonyError, TokenError
from ceremony.files import output_error
from ceremony.hsm.module import find_module
from ceremony.hsm.service import HsmService
from ceremony.hsm.types import TokenInfo
from ceremony.pins import check_source
from ceremony.plan.model import Plan

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
# PIN sources that stay put from the check to the run; env: and fd: belong to the run's own
# process (set just before it), so the run checks them (pins.check_source) before it writes.
LASTING_SOURCES = ("file", "keyring")
MIN_FREE_BYTES = 1 << 20  # a ceremony writes a few hundred KiB; ask for 1 MiB
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
class OutputCheck:
    """Where the ceremony directory will be made, and how much room that device has."""

    directory: Path  # the nearest directory that exists on the way to the ceremony directory
    free_bytes: int | None  # None when the directory could not be looked at


@dataclass(frozen=True)
class DryRun:
    """What the token and the output media showed, and the errors that would stop the run."""

    token: TokenInfo
    mechanisms: tuple[MechanismCheck, ...]
    one_step_wrap: bool
    labels: tuple[LabelCheck, ...]
    output: OutputCheck
    files: tuple[str, ...]
    problems: tuple[CeremonyError, ...]

    @property
    def ready(self) -> bool:
        return not self.problems


def planned_files(plan: Plan) -> tuple[str, ...]:
    """The files the ceremony writes under `plan.ceremony_dir` (DESIGN.md section 4)."""
    files = [layout.PLAN, layout.JOURNAL, layout.RECORD, layout.SIGNATURE, layout.SIGNER]
    for key in plan.keys:
        files += [f"{layout.KEYS}/{name}" for name in
                  layout.key_file_names(key.name, key.spec.asymmetric)]
    return (*files, layout.RUNBOOK, layout.REPORT)


def needed_mechanisms(plan: Plan) -> tuple[tuple[str, str], ...]:
    """Mechanisms the run needs: BYOK wrapping, the record signer, and key generation."""
    kinds = {key.spec.kind for key in plan.keys if key.origin == "generate"}
    needed: dict[str, str] = dict(REQUIRED)
    for kind in ("rsa", "ec", "aes"):
        if kind in kinds:
            needed.setdefault(*GENERATE[kind])  # EC-KEY-PAIR-GEN is listed once
    return tuple(needed.items())


def dry_run(plan: Plan, service: HsmService, env: Mapping[str, str]) -> DryRun:
    """Check the lasting PIN sources without reading a PIN; select the plan's token (taking
    its lock), read it without login, and close it."""
    problems: list[CeremonyError] = []
    for who, source in plan.pin_askers():
        if source.kind not in LASTING_SOURCES:
            continue
        try:
            check_source(source, who, env)
        except BadInputError as error:
            problems.append(error)
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
    problems += [_missing(token, check) for check in mechanisms if not check.present]
    problems += [label_taken(token.label, check.key, check.label)
                 for check in labels if not check.free]
    output, output_problem = check_output(plan.ceremony_dir)
    if output_problem is not None:
        problems.append(output_problem)
    return DryRun(
        token=token,
        mechanisms=mechanisms,
        one_step_wrap=token.has_mechanism(ONE_STEP),
        labels=labels,
        output=output,
        files=planned_files(plan),
        problems=tuple(problems),
    )


def check_token(plan: Plan, env: Mapping[str, str], module: str | None = None) -> DryRun:
    """The dry run through `module`, else the plan's `hsm.module`, else the usual places (the
    module the run itself would load)."""
    explicit = module or (str(plan.hsm.module) if plan.hsm.module else None)
    return dry_run(plan, HsmService(find_module(explicit, env), env), env)


def check_output(ceremony_dir: Path) -> tuple[OutputCheck, BadInputError | None]:
    """Can the ceremony directory be made, and is there room? Found before anyone gathers.

    The nearest existing directory on the way is probed by making and removing an empty
    directory in it: that answers read-only media, permissions and pseudo file systems alike.
    """
    parent = ceremony_dir.parent
    while not os.path.lexists(parent) and parent != parent.parent:
        parent = parent.parent
    if parent.is_symlink() and not parent.exists():
        return OutputCheck(parent, None), BadInputError(
            "output-symlink", f"{parent} is a symbolic link that leads nowhere",
            "Name an existing directory in output.directory")
    if not parent.is_dir():
        return OutputCheck(parent, None), BadInputError(
            "output-not-a-directory", f"{parent} is a file, so {ceremony_dir} cannot be made",
            "Name a directory in output.directory")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".cmk-ceremony-probe-", dir=parent))
        stats = os.statvfs(parent)
    except OSError as error:
        return OutputCheck(parent, None), output_error(parent, error)
    free = stats.f_bavail * stats.f_frsize
    if free < MIN_FREE_BYTES:
        return OutputCheck(parent, free), BadInputError(
            "output-low-space", f"the device holding {parent} has {free // 1024} KiB free; a "
            f"ceremony needs at least {MIN_FREE_BYTES // 1024} KiB",
            "Free space on that device, or use other media")
    return OutputCheck(parent, free), None


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
