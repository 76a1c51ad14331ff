"""`ceremony token list` and `ceremony token info`: what tokens there are and what they can do."""

from __future__ import annotations

import sys

from ceremony.commands.common import (
    add_group,
    add_json_option,
    add_module_option,
    add_token_options,
    open_service,
    print_json,
)
from ceremony.errors import printable
from ceremony.hsm.types import TokenInfo


def register(commands) -> None:
    sub = add_group(commands, "token", "list tokens and show a token's information")
    listing = sub.add_parser("list", help="list the initialised tokens of the module")
    add_module_option(listing)
    add_json_option(listing)
    listing.set_defaults(handler=list_tokens)
    info = sub.add_parser("info", help="show one token's identity, flags and BYOK mechanisms")
    add_token_options(info)
    add_json_option(info)
    info.set_defaults(handler=show_info)


def list_tokens(args, env) -> int:
    service = open_service(args, env)
    found = service.tokens()
    if args.json:
        print_json([t.to_json() for t in found])
        return 0
    if not found:
        print(f"no initialised token in {service.module}", file=sys.stderr)
        return 0
    rows = [("LABEL", "SERIAL", "MANUFACTURER", "MODEL")]
    rows += [tuple(printable(cell) for cell in (t.label, t.serial, t.manufacturer, t.model))
             for t in found]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0


def show_info(args, env) -> int:
    with open_service(args, env) as service:
        info = service.select(label=args.token, serial=args.serial)
    if args.json:
        print_json(info.to_json())
    else:
        print(format_info(info))
    return 0


def format_info(info: TokenInfo) -> str:
    lines = [
        ("Label", info.label),
        ("Serial", info.serial),
        ("Manufacturer", info.manufacturer),
        ("Model", info.model),
        ("Hardware version", info.hardware_version),
        ("Firmware version", info.firmware_version),
        ("Library", f"{info.library} {info.library_version}"),
        ("Flags", ", ".join(info.flags) or "none"),
    ]
    text = [f"{name + ':':<18} {printable(value)}" for name, value in lines]
    text.append("BYOK mechanisms:")
    text += [f"  {'yes' if ok else 'NO ':<4} {name}" for name, ok in info.mechanisms]
    return "\n".join(text)
