"""Every command's arguments and the handler that runs it: all that `--help` shows.

This module loads no command. A handler is named "module:function" (a module of
ceremony.commands) and cli.py imports only the one that runs, so `ceremony --version`, `--help`
and the software-only commands never load python-pkcs11 or the engine.
"""

from __future__ import annotations

from pathlib import Path

# The values of hsm.templates.Policy that an export may use, spelt here so that the grammar
# loads no PKCS#11 code; byok.py turns the choice back into a Policy.
EXPORT_POLICIES = ("trusted", "extractable")


def register(commands) -> None:
    """Add every command to the subparsers `commands`, in the order `--help` lists them."""
    for add in (_token, _plan, _catalog, _kek, _byok, _run, _tui, _verify):
        add(commands)


def _group(commands, name: str, help_text: str):
    """A command group (`ceremony NAME SUBCOMMAND`) whose subcommand is required."""
    group = commands.add_parser(name, help=help_text)
    sub = group.add_subparsers(dest=f"{name}_command", metavar="SUBCOMMAND")
    sub.required = True
    return sub


def _module_option(parser) -> None:
    parser.add_argument(
        "--module", metavar="PATH",
        help="PKCS#11 module (default: $PKCS11_MODULE, then the usual SoftHSM2 paths)",
    )


def _token_options(parser) -> None:
    _module_option(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--token", metavar="LABEL", help="select the token by label")
    which.add_argument("--serial", metavar="SERIAL", help="select the token by serial number")


def _json_option(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _token(commands) -> None:
    sub = _group(commands, "token", "list tokens and show a token's information")
    listing = sub.add_parser("list", help="list the initialised tokens of the module")
    _module_option(listing)
    _json_option(listing)
    listing.set_defaults(handler="tokens:list_tokens")
    info = sub.add_parser("info", help="show one token's identity, flags and BYOK mechanisms")
    _token_options(info)
    _json_option(info)
    info.set_defaults(handler="tokens:show_info")


def _plan(commands) -> None:
    sub = _group(commands, "plan", "check a ceremony plan, or start a new one")
    check = sub.add_parser(
        "check", help="validate a plan and look at its token read-only, without logging in"
    )
    check.add_argument("plan", metavar="PLAN", type=Path, help="the plan file (TOML)")
    _module_option(check)
    _json_option(check)
    check.set_defaults(handler="plan:check_plan")
    new = sub.add_parser("new", help="write a commented starting plan to a new file")
    new.add_argument("path", metavar="PATH", type=Path, help="the plan file to create")
    new.set_defaults(handler="plan:new_plan")


def _catalog(commands) -> None:
    catalog = commands.add_parser(
        "catalog", help="show the Azure Databricks CMK features and the data each protects"
    )
    _json_option(catalog)
    catalog.add_argument(
        "--coverage", metavar="FEATURES",
        help="comma-separated feature ids: show what keys for them would cover and what not",
    )
    catalog.set_defaults(handler="catalog:show_catalog")


def _kek(commands) -> None:
    sub = _group(commands, "kek", "inspect a Key Exchange Key (KEK) from the vault")
    inspect = sub.add_parser("inspect", help="check a KEK file and show its fingerprint")
    inspect.add_argument("file", type=Path, help="kek.pem (az keyvault key download), DER, "
                         "PKCS#1 PEM, or az keyvault key show JSON")
    inspect.add_argument("--kid", help="the KEK's versioned kid (when FILE is not the JSON)")
    inspect.add_argument("--json-file", type=Path, metavar="FILE",
                         help="az keyvault key show JSON for the same key, checked against FILE")
    _json_option(inspect)
    inspect.set_defaults(handler="kek:inspect_kek")


def _byok(commands) -> None:
    sub = _group(commands, "byok", "export a key as a .byok package, or check one")
    export = sub.add_parser("export", help="wrap a key already on the token for Azure import")
    _token_options(export)
    export.add_argument("--key", required=True, metavar="LABEL", help="the key's token label")
    export.add_argument("--kek", required=True, type=Path, metavar="FILE", help="the KEK file")
    export.add_argument("--kid", help="the KEK's versioned kid (unless --kek is the az JSON)")
    export.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="directory for <label>.byok, .pub.pem and .az-import.txt")
    export.add_argument("--name", metavar="NAME",
                        help="file name stem for the outputs (default: the label)")
    export.add_argument("--azure-name", metavar="NAME",
                        help="the key's name in Azure (default: the label)")
    export.add_argument("--policy", choices=EXPORT_POLICIES, default="trusted",
                        help="trusted (default; needs the SO PIN) or extractable (tokens "
                        "without trusted wrapping)")
    export.add_argument("--user-pin", default="prompt", metavar="SOURCE",
                        help="user PIN source: prompt, pinpad, fd:N, file:PATH, env:NAME, "
                        "keyring:SERVICE/USER (default: prompt)")
    export.add_argument("--so-pin", default="prompt", metavar="SOURCE",
                        help="SO PIN source for the trusted policy (default: prompt)")
    _json_option(export)
    export.set_defaults(handler="byok:export_byok")
    check = sub.add_parser("check", help="check a .byok file's structure, kid and KEK fit")
    check.add_argument("file", type=Path, help="the .byok file")
    check.add_argument("--kek", type=Path, metavar="FILE", help="the KEK it should be made for")
    check.add_argument("--kid", help="the KEK's kid, when --kek is a PEM without one")
    _json_option(check)
    check.set_defaults(handler="byok:check_byok")


def _run(commands) -> None:
    run = commands.add_parser("run", help="run a ceremony from a checked plan")
    run.add_argument("plan", nargs="?", type=Path, help="the plan file (not with --resume)")
    run.add_argument("--resume", type=Path, metavar="DIR",
                     help="continue the interrupted ceremony in DIR from its journal")
    _ceremony_options(run)
    run.set_defaults(handler="run:run_ceremony")
    abort = commands.add_parser("abort", help="abort a ceremony and destroy the keys it created")
    abort.add_argument("directory", type=Path, metavar="DIR", help="the ceremony directory")
    _ceremony_options(abort)
    abort.set_defaults(handler="run:abort_ceremony")


def _tui(commands) -> None:
    tui = commands.add_parser(
        "tui", help="the ceremony wizard: build a plan step by step (or give one) and run it")
    which = tui.add_mutually_exclusive_group()
    which.add_argument("plan", type=Path, nargs="?",
                       help="a plan file (TOML): the wizard opens at its review")
    which.add_argument("--resume", type=Path, metavar="DIR",
                       help="an interrupted ceremony's directory: resume it or abort it")
    which.add_argument("--verify", type=Path, metavar="DIR",
                       help="a finished ceremony's directory: verify it against the paper log")
    tui.add_argument("--media", type=Path, metavar="DIR",
                     help="where the KEK picker starts: the media from the vault "
                     "(default: the current directory)")
    tui.set_defaults(handler="tui:run_tui")


def _ceremony_options(parser) -> None:
    parser.add_argument("--plan", dest="plan_override", type=Path, metavar="PLAN",
                        help="with --resume or abort: the plan, when it moved since the start")
    parser.add_argument("--json", action="store_true", help="print events as JSON lines")
    parser.add_argument("--yes", action="store_true",
                        help="scripted run: answer read-backs, sign-offs and confirmations "
                        "yes; the record says the answers were scripted")


def _verify(commands) -> None:
    verify = commands.add_parser(
        "verify", help="check a ceremony directory: signature, journal chain and every file",
    )
    verify.add_argument("directory", type=Path, metavar="DIR", help="the ceremony directory")
    verify.add_argument(
        "--signer", metavar="FINGERPRINT",
        help="the signer's SHA-256 fingerprint from the paper log (spaces and colons allowed)",
    )
    verify.add_argument(
        "--unpinned", action="store_true",
        help="without --signer: check only that the directory is whole and signed by the key "
        "in signer.pub.pem (nothing then shows that key is the ceremony signer)",
    )
    verify.add_argument(
        "--journal-end", metavar="SHA256",
        help="the SHA-256 of the journal's last line, from the paper log (the run prints it)",
    )
    verify.add_argument(
        "--previous", type=Path, metavar="RECORD",
        help="the previous ceremony's record.json, which this record must name",
    )
    _json_option(verify)
    verify.set_defaults(handler="verify:run_verify")
