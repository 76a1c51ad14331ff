"""An exclusive lock per token, so two ceremonies never drive one token at once.

Several processes on one SoftHSM token directory mostly work, but a process starting while
another writes can see GeneralError/NoSuchToken and a corrupted object file makes a key vanish
silently (DESIGN.md section 5). The lock file is keyed by module path and token serial; it
holds the owner's pid so the second process can say who has it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from ceremony.errors import TokenError


def lock_dir(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("CMK_CEREMONY_LOCK_DIR"):
        return Path(env["CMK_CEREMONY_LOCK_DIR"])
    return Path(f"/tmp/cmk-ceremony-locks-{os.getuid()}")


class TokenLock:
    """Held while a process works on a token; released on close or process exit."""

    def __init__(self, module: Path, serial: str, label: str, directory: Path) -> None:
        key = hashlib.sha256(f"{os.path.realpath(module)}\0{serial}".encode()).hexdigest()[:32]
        self.path = directory / f"{key}.lock"
        self.label = label
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise TokenError(
                "token-in-use",
                f"token {self.label} is in use by process {owner}",
                "Wait for that ceremony to finish, or stop it; two runs never share a token",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
