"""An exclusive lock per token, so two ceremonies never drive one token at once.

Several processes on one SoftHSM token directory mostly work, but a process starting while
another writes can see GeneralError/NoSuchToken and a corrupted object file makes a key vanish
silently (DESIGN.md section 5). The lock file is keyed by module path and token serial; it
holds the owner's pid so the second process can say who has it.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from ceremony.errors import TokenError


def lock_dir(env: Mapping[str, str] = os.environ) -> Path:
    """$CMK_CEREMONY_LOCK_DIR, else $XDG_RUNTIME_DIR/cmk-ceremony, else a per-user /tmp dir."""
    if env.get("CMK_CEREMONY_LOCK_DIR"):
        return Path(env["CMK_CEREMONY_LOCK_DIR"])
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "cmk-ceremony"
    return Path(f"/tmp/cmk-ceremony-locks-{os.getuid()}")


_LOCK_DIR_FIX = ("Remove it, or set CMK_CEREMONY_LOCK_DIR to a directory only you can write "
                 "(0700)")


def _private_dir(directory: Path) -> None:
    """Make or accept the lock directory only if it is ours alone: a directory another user
    made in /tmp beforehand could hold a symlink that turns our lock write against a file."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(directory)
    except OSError as error:
        what = ("is a file, not a directory" if error.errno in (errno.EEXIST, errno.ENOTDIR)
                else f"cannot be made ({error.strerror})")
        raise TokenError("lock-dir-unusable", f"lock directory {directory} {what}",
                         _LOCK_DIR_FIX) from None
    if stat.S_ISLNK(info.st_mode):
        raise TokenError("lock-dir-unsafe", f"lock directory {directory} is a symbolic link",
                         _LOCK_DIR_FIX)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise TokenError(
            "lock-dir-unsafe",
            f"lock directory {directory} is not a directory private to this user "
            f"(owner uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):04o})", _LOCK_DIR_FIX,
        )


def lock_path(module: Path, serial: str, directory: Path) -> Path:
    """The lock file of the token `serial` on `module`."""
    key = hashlib.sha256(f"{os.path.realpath(module)}\0{serial}".encode()).hexdigest()[:32]
    return directory / f"{key}.lock"


def lock_holder(module: Path, serial: str, env: Mapping[str, str] = os.environ) -> str | None:
    """The pid of the process holding the token's lock (as it wrote it, "unknown" when it wrote
    none yet), or None when the token is free. Nothing is created or written: a shared lock is
    tried for an instant and let go at once, so a free token stays free and a held one is left
    to its holder."""
    path = lock_path(module, serial, lock_dir(env))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None  # no lock file: nobody ever locked this token here
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _owner(fd)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _owner(fd: int) -> str:
    return os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"


class TokenLock:
    """Held while a process works on a token; released on close or process exit."""

    def __init__(self, module: Path, serial: str, label: str, directory: Path) -> None:
        self.path = lock_path(module, serial, directory)
        self.label = label
        self._fd: int | None = None

    def acquire(self) -> None:
        _private_dir(self.path.parent)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise TokenError("lock-file-unusable", f"lock file {self.path} cannot be opened "
                             f"({error.strerror})", _LOCK_DIR_FIX) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _owner(fd)
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
