"""A ceremony directory's file names, in one place, and which of them the record lists.

docs/record-format.md describes the directory. Every module that reads or writes one of its
files takes the name from here, so the engine that writes, the verifier that checks and the
dry run that announces the files can never disagree about them.
"""

from __future__ import annotations

import os
from pathlib import Path

from ceremony.digests import sha256_hex
from ceremony.errors import VerificationError
from ceremony.files import read_file, unreadable

PLAN = "plan.toml"
JOURNAL = "journal.jsonl"
RECORD = "record.json"
SIGNATURE = "record.json.sig"
SIGNER = "signer.pub.pem"
RUNBOOK = "runbook.md"
REPORT = "report.md"
KEYS = "keys"
# Not in the record's `outputs`: the journal has its own field, the other three are the signature.
UNLISTED = (JOURNAL, RECORD, SIGNATURE, SIGNER)
EVIDENCE = "keep the directory as evidence"
REGULAR_ONLY = f"A ceremony writes only regular files; {EVIDENCE}"


def key_file_names(name: str, asymmetric: bool) -> list[str]:
    """`<name>.byok`, `<name>.az-import.txt`, and `<name>.pub.pem` for RSA and EC keys."""
    names = [f"{name}.byok", f"{name}.az-import.txt"]
    if asymmetric:
        names.append(f"{name}.pub.pem")
    return names


class CeremonyDir:
    """One ceremony directory: the path of each of its files."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def __truediv__(self, relative: str) -> Path:
        return self.path / relative

    @property
    def plan(self) -> Path:
        return self.path / PLAN

    @property
    def journal(self) -> Path:
        return self.path / JOURNAL

    @property
    def record(self) -> Path:
        return self.path / RECORD

    @property
    def signature(self) -> Path:
        return self.path / SIGNATURE

    @property
    def signer(self) -> Path:
        return self.path / SIGNER

    @property
    def keys(self) -> Path:
        return self.path / KEYS

    def packages(self) -> list[Path]:
        """The `.byok` files in keys/, sorted."""
        return sorted(self.keys.glob("*.byok"))

    def outputs(self) -> dict[str, str]:
        """Every file below the directory but UNLISTED -> its SHA-256, paths with "/".

        A temporary `.*.part` file is half-written debris from an interrupted write, and a
        symlink or special file is nothing a ceremony writes: either is a VerificationError, so
        no record is signed over, and no verification passes, a directory in an unknown state.
        """
        outputs = {}
        for relative in _files(self.path):
            name = relative.rsplit("/", 1)[-1]
            if name.startswith(".") and name.endswith(".part"):
                raise VerificationError(
                    "output-debris",
                    f"{self.path / relative} is a half-written temporary file",
                    f"A write was interrupted and the directory is incomplete; {EVIDENCE}",
                )
            if relative not in UNLISTED:
                outputs[relative] = sha256_hex(read_file(self.path / relative))
        return outputs


def _files(directory: Path) -> list[str]:
    """Relative paths of the regular files below `directory`, sorted; nothing else allowed."""

    def refuse(error: OSError) -> None:
        raise unreadable(error.filename, error)

    found = []
    for root, dirs, files in os.walk(directory, onerror=refuse):
        for name in dirs + files:
            path = Path(root, name)
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                raise VerificationError(
                    "output-not-regular",
                    f"{path} is not a regular file or directory",
                    REGULAR_ONLY,
                )
        found += [Path(root, name).relative_to(directory).as_posix() for name in files]
    return sorted(found)
