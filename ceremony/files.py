"""Exclusive output files: temp file, fsync, rename; an existing path is refused.

DESIGN.md invariant 3. Every file the tool writes goes through `write_exclusive`, so a crash
leaves either nothing or the whole file, and nothing is ever overwritten.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from pathlib import Path

from ceremony.errors import BadInputError


def refuse_existing(path: Path) -> None:
    """Raise when `path` exists, naming it and the fix."""
    if path.exists() or path.is_symlink():
        raise BadInputError(
            "output-exists",
            f"{path} already exists",
            "Choose a new output directory; the tool never overwrites a file",
        )


def write_exclusive(path: Path, data: bytes, mode: int = 0o644) -> Path:
    """Write `data` to a new file at `path` atomically; refuse when `path` exists.

    The bytes go to a temporary file that is fsync'd and then hard-linked to `path`: a link
    fails when the target exists, so a file created meanwhile is never replaced, and a crash
    leaves either nothing at `path` or the whole file. File systems without hard links (FAT
    and exFAT removable media) get an O_EXCL create of `path` instead: still never an
    overwrite, but a crash mid-write can leave a short file, which resume discards and
    verify reports.
    """
    path = Path(path)
    refuse_existing(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        _write_all(fd, data)
        os.chmod(tmp, mode)
        try:
            os.link(tmp, path)
        except FileExistsError:
            refuse_existing(path)
            raise
        except OSError as error:
            if error.errno not in NO_HARD_LINKS:
                raise
            _write_new(path, data, mode)
    finally:
        os.unlink(tmp)
    fsync_dir(path.parent)
    return path


NO_HARD_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK)


def _write_all(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except FileExistsError:
        refuse_existing(path)
        raise
    _write_all(fd, data)


def fsync_dir(directory: Path) -> None:
    """Make a new name in `directory` survive a crash, not only the file's bytes."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all_exclusive(files: dict[Path, bytes]) -> dict[Path, str]:
    """Write several new files as one step; return each path's SHA-256 hex.

    Every path is checked before any is written, and when a write fails the files this call
    already wrote are removed, so a failure leaves nothing half-done on disk.
    """
    for path in files:
        refuse_existing(Path(path))
    written: list[Path] = []
    try:
        for path, data in files.items():
            written.append(write_exclusive(Path(path), data))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return {Path(path): hashlib.sha256(data).hexdigest() for path, data in files.items()}
