"""Finding the PKCS#11 module: --module PATH, then PKCS11_MODULE, then the usual SoftHSM2 paths."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ceremony.errors import BadInputError

SOFTHSM_PATHS = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)


def find_module(explicit: str | None = None, env: Mapping[str, str] = os.environ) -> Path:
    """Return the module path to load, or say exactly which places were tried."""
    if explicit:
        return _must_exist(Path(explicit), "--module")
    if env.get("PKCS11_MODULE"):
        return _must_exist(Path(env["PKCS11_MODULE"]), "PKCS11_MODULE")
    for candidate in SOFTHSM_PATHS:
        if Path(candidate).is_file():
            return Path(candidate)
    raise BadInputError(
        "pkcs11-module-not-found",
        "no PKCS#11 module found: no --module, no PKCS11_MODULE, and no SoftHSM2 library in "
        "the usual places",
        "Pass --module /path/to/module.so or set PKCS11_MODULE (SoftHSM2: apt-get install "
        "softhsm2)",
    )


def _must_exist(path: Path, origin: str) -> Path:
    if not path.is_file():
        raise BadInputError(
            "pkcs11-module-not-found",
            f"PKCS#11 module {path} (from {origin}) does not exist",
            "Give the path of the vendor's PKCS#11 library (.so)",
        )
    return path


def software_token(name: str) -> bool:
    """True for SoftHSM, named by its module's file name or a token's manufacturer: a software
    token, for rehearsals only (its packages must never reach a production vault)."""
    return "softhsm" in name.lower()
