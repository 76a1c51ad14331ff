"""Pieces several command handlers share: opening the HSM service, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ceremony.hsm.service import HsmService


def open_service(args, env: Mapping[str, str]) -> HsmService:
    """The service for --module. Imported here, not at the top: the handlers that only print
    JSON (catalog, kek, verify) share this module and must not load python-pkcs11."""
    from ceremony.hsm.module import find_module
    from ceremony.hsm.service import HsmService

    return HsmService(find_module(args.module, env), env)


def print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
