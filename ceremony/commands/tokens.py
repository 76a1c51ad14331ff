"""`ceremony token list` and `ceremony token info`: what tokens there are and what they can do."""

from __future__ import annotations

import sys

from ceremony.commands.common import open_service, print_json
from ceremony.errors import printable
from ceremony.hsm.types import TokenInfo


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
