"""Pieces several commands share: the module/token options, opening a service, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping

from ceremony.hsm.module import find_module
from ceremony.hsm.service import HsmService


def add_group(commands, name: str, help_text: str):
    """A command group (`ceremony NAME SUBCOMMAND`) whose subcommand is required."""
    group = commands.add_parser(name, help=help_text)
    sub = group.add_subparsers(dest=f"{name}_command", metavar="SUBCOMMAND")
    sub.required = True
    return sub


def add_module_option(parser) -> None:
    parser.add_argument(
        "--module", metavar="PATH",
        help="PKCS#11 module (default: $PKCS11_MODULE, then the usual SoftHSM2 paths)",
    )


def add_token_options(parser) -> None:
    add_module_option(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--token", metavar="LABEL", help="select the token by label")
    which.add_argument("--serial", metavar="SERIAL", help="select the token by serial number")


def add_json_option(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def open_service(args, env: Mapping[str, str]) -> HsmService:
    return HsmService(find_module(args.module, env), env)


def print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
