"""`ceremony plan check` (validate, then a read-only look at the token) and `ceremony plan new`.

`check` is the dress rehearsal people run the day before: it reports every plan problem at
once (exit 2), then what the real run would find on the token and write, and exits 3 when the
token would stop the run. It reads no PIN and never logs in.
"""

from __future__ import annotations

import sys
import textwrap
from importlib import resources

from ceremony.commands.common import print_json
from ceremony.databricks.render import coverage_table
from ceremony.errors import ExitCode
from ceremony.files import write_exclusive
from ceremony.plan.coverage import coverage_for
from ceremony.plan.dry_run import (
    LABELS_NOTE,
    ONE_STEP,
    ONE_STEP_NOTE,
    TWO_STEP_NOTE,
    DryRun,
    check_token,
)
from ceremony.plan.load import load_plan
from ceremony.plan.model import Plan

TEMPLATE = "examples/new-plan.toml"


def check_plan(args, env) -> int:
    plan = load_plan(args.plan)
    result = check_token(plan, env, args.module)
    if args.json:
        print_json(check_json(plan, result))
    else:
        print(check_text(plan, result), end="")
    for problem in result.problems:
        print(problem.line(), file=sys.stderr)
    return min((problem.exit_code for problem in result.problems), default=ExitCode.OK)


def new_plan(args, env) -> int:
    template = resources.files("ceremony").joinpath(TEMPLATE).read_bytes()
    write_exclusive(args.path, template)
    print(
        f"wrote {args.path}: change the values marked CHANGE, put kek.pem and kek.json beside "
        f"it, then run `ceremony plan check {args.path}`",
        file=sys.stderr,
    )
    return ExitCode.OK


def check_json(plan: Plan, result: DryRun) -> dict:
    return {
        "plan": {"path": str(plan.path), "sha256": plan.sha256, "ceremony": plan.ceremony.id},
        "token": result.token.to_json(),
        "mechanisms": [
            {"name": m.name, "present": m.present, "needed_for": m.needed_for}
            for m in result.mechanisms
        ],
        "one_step_wrap": result.one_step_wrap,
        "labels": [{"key": c.key, "label": c.label, "free": c.free} for c in result.labels],
        "labels_note": LABELS_NOTE,
        "coverage": [group.to_json() for group in coverage_for(plan)],
        "directory": str(plan.ceremony_dir),
        "output": {"checked": str(result.output.directory),
                   "free_bytes": result.output.free_bytes},
        "files": list(result.files),
        "ready": result.ready,
        "problems": [{"code": p.code, "message": p.message, "hint": p.hint}
                     for p in result.problems],
    }


def check_text(plan: Plan, result: DryRun) -> str:
    token = result.token
    hsm = plan.hsm
    lines = [
        f"Plan {plan.path} is valid (SHA-256 {plan.sha256})",
        f"Ceremony {plan.ceremony.id}: {plan.ceremony.purpose}",
        "Participants: " + ", ".join(f"{p.name} ({p.role})" for p in plan.participants),
        f"Wrap policy {hsm.wrap_policy}; user PIN from {hsm.user_pin}"
        + (f"; SO PIN from {hsm.so_pin}" if hsm.so_pin else "") + " (not read by plan check)",
        "",
        f"Token found: {token.label} (serial {token.serial}), {token.manufacturer} "
        f"{token.model}, firmware {token.firmware_version}",
        "Mechanisms:",
    ]
    lines += [
        f"  {'yes' if m.present else 'NO ':<4} {m.name}: {m.needed_for}" for m in result.mechanisms
    ]
    lines.append(f"  {'yes' if result.one_step_wrap else 'NO ':<4} {ONE_STEP}: "
                 f"{ONE_STEP_NOTE if result.one_step_wrap else TWO_STEP_NOTE}")
    lines.append("Labels:")
    lines += [
        f"  {'free ' if c.free else 'TAKEN'} {c.label} (key {c.key})" for c in result.labels
    ]
    lines += textwrap.wrap(f"Note: {LABELS_NOTE}.", 100, initial_indent="  ",
                           subsequent_indent="  ")
    lines += ["", "KEKs:"]
    for entry in plan.keks:
        kek = entry.kek
        lines.append(f"  {entry.name}: RSA {kek.bits}, {kek.kid.url}")
        lines.append(f"    SHA-256 {kek.fingerprint}")
    lines.append("Keys:")
    for key in plan.keys:
        lines.append(
            f"  {key.name}: {key.origin} {key.spec} as {key.label!r}, into "
            f"{plan.kek(key.kek).kek.kid.vault_name} as {key.azure_name} "
            f"[{', '.join(key.key_ops)}], serves {', '.join(key.features) or 'no CMK feature'}; "
            f"after export: {key.after_export}"
        )
    for group in coverage_for(plan):
        lines += ["", f"Workspaces: {', '.join(group.workspaces)}"]
        lines += coverage_table(group.report).splitlines()
    free = result.output.free_bytes
    lines += ["", f"Output: {result.output.directory} is "
              + (f"writable, {free // (1 << 20)} MiB free" if free is not None else "not usable")]
    lines += [f"Would write under {plan.ceremony_dir}/:"]
    lines += [f"  {name}" for name in result.files]
    lines += [
        "",
        "Ready: the ceremony can run with this plan and token"
        if result.ready
        else f"Not ready: {len(result.problems)} problem(s), listed on stderr",
    ]
    return "\n".join(lines) + "\n"
