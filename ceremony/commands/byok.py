"""`ceremony byok export` and `ceremony byok check`: one key's package, made or examined."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path

from ceremony.azure.byok import NOT_PROVEN, check_against_kek, parse_byok
from ceremony.azure.compat import check_target
from ceremony.azure.kek import Kek, load_kek
from ceremony.commands.common import open_service, print_json
from ceremony.commands.tty import at_the_terminal
from ceremony.engine.export import ExportTarget, export_key, refuse_existing_outputs
from ceremony.engine.operator import Operator, ScriptedOperator
from ceremony.engine.token_session import log_in, stage_trusted
from ceremony.errors import BadInputError, printable
from ceremony.files import MiB, output_error, read_input
from ceremony.hsm.templates import Policy
from ceremony.pins import PinSource, parse_pin_source
from ceremony.plan.fields import FILE_NAME, FILE_NAME_RULE

BYOK_FILE_LIMIT = MiB  # an RSA 4096 target wrapped to a 4096-bit KEK is under 4 KiB


def _pin_source(text: str, flag: str):
    try:
        return parse_pin_source(text)
    except ValueError as error:
        raise BadInputError("pin-source", f"{flag}: {error}", "A PIN never goes on the "
                            "command line; name where to read it from") from None


def _file_stem(name: str) -> str:
    """The outputs are <name>.byok etc. in --out: a label like ../x must not leave it."""
    if not FILE_NAME.fullmatch(name):
        raise BadInputError(
            "export-name", f"{name!r} cannot name the output files: it is not {FILE_NAME_RULE}",
            "Give --name with a plain file name for the outputs",
        )
    return name


def _check_out_dir(out: Path) -> None:
    """--out is an existing directory, or one to make in an existing one (never its parents)."""
    if out.is_dir():
        return
    if out.exists() or out.is_symlink():
        raise BadInputError("output-not-a-directory", f"--out {out} is not a directory",
                            "Name a directory for the outputs")
    if not out.parent.is_dir():
        raise BadInputError("output-dir-missing", f"--out {out}: {out.parent} does not exist",
                            "Make it first, or name a directory in an existing one")


@contextlib.contextmanager
def _out_dir(out: Path):
    """Make --out when it is new, just before the files go in; removed again if they fail."""
    made = not out.is_dir()
    if made:
        try:
            out.mkdir()
        except OSError as error:
            raise output_error(out.parent, error) from None
    try:
        yield
    except BaseException:
        if made:
            with contextlib.suppress(OSError):
                out.rmdir()
        raise


# How a person confirms a final PIN try that a run without a terminal refuses to spend.
AT_A_TERMINAL = ("run `ceremony byok export` at a terminal, where a person confirms it once the "
                 "PIN is certain")


@dataclass(frozen=True)
class ExportRequest:
    """What `byok export` was asked for, checked before any PIN is read."""

    kek: Kek
    name: str  # the file stem of the outputs
    user_source: PinSource
    so_source: PinSource | None  # the trusted policy's SO PIN; None for extractable


def export_byok(args, env) -> int:
    user_source = _pin_source(args.user_pin, "--user-pin")
    trusted = Policy(args.policy) is Policy.TRUSTED
    so_source = _pin_source(args.so_pin, "--so-pin") if trusted else None
    request = ExportRequest(load_kek(args.kek, args.kid), _file_stem(args.name or args.key),
                            user_source, so_source)
    # Everything that needs no token is checked before anyone types a PIN.
    _check_out_dir(args.out)
    refuse_existing_outputs(args.out, request.name, asymmetric=False)
    with contextlib.ExitStack() as stack:
        operator = (at_the_terminal(env, stack)
                    or ScriptedOperator(env, to_confirm=AT_A_TERMINAL))
        ref, facts, self_test, exported = asyncio.run(export_with(args, env, request, operator))
    if args.json:
        print_json({
            "key": ref.label, "type": str(ref.spec), "kid": request.kek.kid.url,
            "policy": args.policy, "self_test_warnings": list(self_test.warnings),
            "files": exported.sha256, "az_command": exported.az_command,
            "fingerprint_sha256": facts.fingerprint, "kcv": facts.kcv,
        })
    else:
        print(f"wrote {exported.byok} ({ref.spec}, {args.policy} policy) for "
              f"{request.kek.kid.url}", file=sys.stderr)
        print(exported.az_command)
    return 0


async def export_with(args, env, request: ExportRequest, operator: Operator):
    """The token steps a ceremony takes for one key, through `operator`: the SO stages the
    KEK (trusted policy), the user logs in (a person confirms a final PIN try), the wrap
    self-test, then the export. Returns the key, its facts, the self-test and the files."""
    with open_service(args, env) as service:
        token = await service.call(service.select, label=args.token, serial=args.serial)
        if request.so_source is not None:
            so_pin = await operator.pin(f"SO of token {token.label}", request.so_source)
            await stage_trusted(service, operator, token.label, so_pin, [request.kek], 1)
        pin = await operator.pin(f"user of token {token.label}", request.user_source)
        await log_in(service, operator, token.label, pin)
        ref = await service.call(service.find_key, args.key)
        check_target(request.kek.kid, ref.spec)
        refuse_existing_outputs(args.out, request.name, ref.spec.asymmetric)
        self_test = await service.call(service.self_test)
        for warning in self_test.warnings:
            print(printable(f"ceremony: warning: {warning}"), file=sys.stderr)
        facts = await service.call(service.facts, ref)
        target = ExportTarget(args.out, request.name, args.azure_name or ref.label)
        with _out_dir(args.out):
            exported = await service.call(export_key, service, token, facts, request.kek,
                                          target)
    return ref, facts, self_test, exported


def check_byok(args, env) -> int:
    try:
        data = read_input(args.file, "BYOK file", BYOK_FILE_LIMIT)
    except OSError as error:
        raise BadInputError("byok-unreadable", f"BYOK file {args.file} cannot be read "
                            f"({error.strerror})", "Check the path") from None
    package = parse_byok(data, str(args.file))
    kek = parts = None
    if args.kek is not None:
        # The KEK's own kid (--kid, or the az JSON), never the package's: comparing the
        # package's kid with itself would prove nothing.
        kek = load_kek(args.kek, args.kid)
        parts = check_against_kek(package, kek)
    result = {
        "file": str(args.file), "kid": package.kid, "generator": package.generator,
        "ciphertext_bytes": len(package.ciphertext), "checked_against_kek": parts is not None,
        "rsa_part_bytes": parts[0] if parts else None,
        "kwp_part_bytes": parts[1] if parts else None,
        "not_proven": NOT_PROVEN,
    }
    if args.json:
        print_json(result)
        return 0
    print(f"{args.file}: well-formed BYOK package for {package.kid}")
    if kek is not None:
        print(f"fits the given KEK: {parts[0]} bytes of RSA-OAEP, the size of its {kek.bits}-bit "
              f"modulus and below it, then {parts[1]} bytes of AES-KWP")
    else:
        print("not checked against a KEK: give --kek to check the kid and the RSA part's length")
    print(f"not proven: {NOT_PROVEN}")
    print(f"generator: {package.generator}")
    return 0
