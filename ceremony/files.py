"""Exclusive output files: temp file, fsync, rename; an existing path is refused.

DESIGN.md invariant 3. Every file the tool writes goes through `write_exclusive`, so a crash
leaves either nothing or the whole file, and nothing is ever overwritten. Every file a user
names is read through `read_input`: regular files only, never a wait, never more than its
kind can hold.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
from pathlib import Path

from ceremony.errors import BadInputError

# What each write failure means for the people at the workstation: (code, what, fix), where
# {dir} is the directory the tool was writing into.
_WRITE_FAILURES = {
    errno.ENOSPC: ("output-no-space", "no space left on the device holding {dir}",
                   "Free space on that device, or use other media"),
    errno.EDQUOT: ("output-no-space", "disk quota exceeded on the device holding {dir}",
                   "Free space on that device, or use other media"),
    errno.EROFS: ("output-read-only", "{dir} is on a read-only file system",
                  "Use writable media (check its write-protect switch)"),
    errno.EACCES: ("output-not-writable", "{dir} is not writable (permission denied)",
                   "Choose a directory you may write"),
    errno.EPERM: ("output-not-writable", "{dir} is not writable (operation not permitted)",
                  "Choose a directory you may write"),
    errno.ENOENT: ("output-dir-missing", "{dir} does not exist (removed, or its media "
                   "unplugged?)", "Reconnect the media, or choose an existing directory"),
    errno.ENOTDIR: ("output-not-a-directory", "{dir} or one of its parents is a file, not a "
                    "directory", "Choose a directory for the output"),
    errno.ELOOP: ("output-symlink", "{dir} is a symbolic link that leads nowhere",
                  "Name an existing directory itself"),
    errno.EIO: ("output-io-error", "I/O error while writing to {dir}",
                "Check the media; copy what it holds and use other media"),
}


_NO_FILES_HERE = ("output-not-writable", "{dir} does not take new files (is it /proc, /sys or "
                  "another pseudo file system?)", "Choose a directory on real storage")


def output_error(directory: Path, error: OSError) -> BadInputError:
    """One line for a failed write into `directory`: what is wrong, where, and the fix."""
    code, what, fix = _WRITE_FAILURES.get(
        error.errno, ("output-write-failed",
                      f"cannot write to {{dir}} ({error.strerror or error})", "Check the media"))
    if error.errno == errno.ENOENT and os.path.isdir(directory):
        code, what, fix = _NO_FILES_HERE  # the directory is there: it refuses new names
    return BadInputError(code, what.format(dir=directory), fix)


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
    verify reports. The directory must exist: a missing one (media pulled, a mistyped path) is
    reported, never made.
    """
    path = Path(path)
    refuse_existing(path)
    try:
        _link_new(path, data, mode)
        fsync_dir(path.parent)
    except OSError as error:
        raise output_error(path.parent, error) from None
    return path


def _link_new(path: Path, data: bytes, mode: int) -> None:
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
        with contextlib.suppress(OSError):  # gone with its directory: the first error counts
            os.unlink(tmp)


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
    try:
        _write_all(fd, data)
    except BaseException:
        path.unlink(missing_ok=True)  # created by this call: no short file under the final name
        raise


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



KiB = 1024
MiB = 1024 * KiB

_NOT_REGULAR = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_input(path: Path | str, what: str, limit: int) -> bytes:
    """The bytes of a file a user named, read without blocking and at most `limit` of them.

    `what` names the kind in errors ("KEK file"). A FIFO, device or socket is refused before a
    byte is read (O_NONBLOCK: opening one does not wait for a writer), and so is a file over
    `limit`: both are a BadInputError. A directory, or a file that cannot be opened or read,
    raises OSError for the caller to report as its own kind's unreadable file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as error:
        if error.errno == errno.ENXIO:  # a socket, which open() refuses
            _refuse_special(os.stat(path).st_mode, what, path)
        raise
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        _refuse_special(info.st_mode, what, path)
        data = b"" if info.st_size > limit else _read_at_most(fd, limit + 1)
        if info.st_size > limit or len(data) > limit:
            size = (f"{info.st_size:,} bytes" if info.st_size > limit
                    else f"more than {_size(limit)}")  # it grew while being read
            raise BadInputError(
                "input-too-large", f"{what} {path} is {size}; a {what} is at most {_size(limit)}",
                "Check that it is the right file",
            )
        return data
    finally:
        os.close(fd)


def _refuse_special(mode: int, what: str, path: Path | str) -> None:
    for test, kind in _NOT_REGULAR:
        if test(mode):
            raise BadInputError(
                "input-not-regular", f"{what} {path} is {kind}, not a regular file",
                "Copy the file itself onto the media and name that copy",
            )


def _read_at_most(fd: int, count: int) -> bytes:
    chunks = []
    while count > 0:
        chunk = os.read(fd, min(count, MiB))
        if not chunk:
            break
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def _size(limit: int) -> str:
    """A size limit as people write it: `64 KiB`, `256 MiB`."""
    return f"{limit // MiB} MiB" if limit % MiB == 0 else f"{limit // KiB} KiB"


# The largest file of a ceremony directory: a long journal, a record listing 200,000 workspaces.
CEREMONY_FILE_LIMIT = 256 * MiB


def read_file(path: Path, what: str = "file", limit: int = CEREMONY_FILE_LIMIT) -> bytes:
    """A file's bytes (read_input); one that cannot be read is a BadInputError naming it, as
    `what` when it is a FIFO, a device or over `limit`."""
    try:
        return read_input(path, what, limit)
    except OSError as error:
        raise unreadable(path, error) from None


def unreadable(path: Path | str, error: OSError) -> BadInputError:
    """The error for a file the system would not let us read or look at."""
    return BadInputError(
        "file-unreadable", f"{path} cannot be read ({error.strerror})", "Check the path"
    )
