"""Check a finished ceremony directory in software, without the HSM (DESIGN.md invariant 5).

The engine runs this before it reports success, and an auditor runs `ceremony verify` later on
a copy, so it must not depend on anything the engine keeps in memory: only the directory, the
signer fingerprint from the paper log and the previous record. Nothing the directory says is
believed until the signature holds: the record must be its own RFC 8785 form and be signed by
the key it names; then the journal, every output, the plan, each package and public key are
held to it. Each check raises at the first fault it finds, naming the file.
"""

from __future__ import annotations

import json
import re
import stat
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ceremony import strict_json
from ceremony.azure.byok import parse_byok
from ceremony.digests import public_der, public_key_fingerprint, sha256_hex
from ceremony.errors import BadInputError, VerificationError
from ceremony.files import read_file, unreadable
from ceremony.journal import read_entries
from ceremony.layout import EVIDENCE, REGULAR_ONLY, SIGNER, UNLISTED, CeremonyDir
from ceremony.record.canonical import (
    RECORD_FORMAT,
    canonical,
    load_signer_key,
    verify_record_signature,
)
from ceremony.seals import check_seals, not_believed

_NOT_FORMAT = f"The record does not follow {RECORD_FORMAT} (docs/record-format.md)"
_WHERE = "Give the directory a ceremony wrote: <output directory>/<ceremony id>"
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class VerifiedKey:
    name: str
    kid: str  # the KEK kid its package is wrapped for
    fingerprint_sha256: str | None  # of its public key; None for AES


@dataclass(frozen=True)
class VerifyReport:
    """What `verify_ceremony` checked; one exists only when every check held."""

    directory: Path
    ceremony_id: str
    signer_fingerprint: str
    signer_pinned: bool  # the fingerprint also matched the one given (--signer)
    journal_entries: int  # lines in journal.jsonl, chain intact
    journal_signed: int  # the first lines, which record.json covers (journal.entries)
    journal_sealed: int  # the first lines, up to the last seal, which seals vouch for (seals.py)
    journal_end_checked: bool  # the last line matched --journal-end from the paper log
    files: tuple[str, ...]  # outputs whose SHA-256 matched the record
    keys: tuple[VerifiedKey, ...]
    warnings: tuple[str, ...]  # the record's self_test warnings
    notes: tuple[str, ...]  # what held but deserves a look, e.g. a renamed directory
    previous_record_sha256: str | None
    previous_checked: bool  # a previous record was given and matched

    def to_json(self) -> dict:
        return {**asdict(self), "directory": str(self.directory)}


def verify_ceremony(
    directory: Path, *, signer: str | None = None, previous: Path | None = None,
    journal_end: str | None = None,
) -> VerifyReport:
    """Check everything in `directory`; VerificationError (or BadInputError) at the first fault.

    `signer` is the fingerprint from the paper log (hex, any case, spaces and colons allowed);
    `previous` is the previous ceremony's record.json, which the record must name.
    """
    pinned = None if signer is None else normalize_fingerprint(signer)
    directory = Path(directory)
    files = CeremonyDir(directory)
    _fixed_files(directory)
    pem_path = files.signer
    record, pem, fingerprint = _signed_record(files.record, pinned)
    end = None if journal_end is None else normalize_fingerprint(journal_end, "--journal-end")
    entries = read_entries(files.journal)
    sealed = check_seals(entries, load_signer_key(pem, str(pem_path)), str(files.journal),
                         str(pem_path))
    journal_signed = _journal(files.journal, entries, record, end)
    outputs = _outputs(directory, record)
    _plan(directory, record, outputs)
    keys = _keys(directory, record, outputs)
    previous_sha256 = _previous(record, previous)
    ceremony_id = record.table("ceremony").text("id")
    return VerifyReport(
        directory=directory,
        ceremony_id=ceremony_id,
        signer_fingerprint=fingerprint,
        signer_pinned=pinned is not None,
        journal_entries=len(entries),
        journal_signed=journal_signed,
        journal_sealed=sealed,
        journal_end_checked=end is not None,
        files=tuple(sorted(outputs)),
        keys=keys,
        warnings=tuple(record.table("self_test").texts("warnings")),
        notes=_name_notes(directory, ceremony_id)
        + _unsealed_note(len(entries), max(sealed, journal_signed))
        + tuple(f"journal lines {first}-{last} were written after the last seal before an "
                "interruption; resume did not believe them and did those steps again"
                for first, last in not_believed(entries)),
        previous_record_sha256=previous_sha256,
        previous_checked=previous is not None,
    )


def normalize_fingerprint(text: str, flag: str = "--signer") -> str:
    """A SHA-256 as written on paper: hex in any case, spaces and colons allowed."""
    digits = re.sub(r"[\s:]", "", text).lower()
    if not _HEX64.fullmatch(digits):
        what = "signer-fingerprint" if flag == "--signer" else "journal-end"
        raise BadInputError(
            f"{what}-invalid",
            f"{flag} {text!r} is not a SHA-256 fingerprint (64 hex digits; spaces and colons "
            "allowed)",
            "Copy it from the paper log",
        )
    return digits


@dataclass(frozen=True)
class _Fields:
    """Typed access to the record's fields; a missing or mistyped one is record-invalid.

    A string with a control or other non-printable character is refused too, so no text
    from the record, signed or not, can reach the terminal as an escape sequence.
    """

    data: dict
    source: str  # the record file, for messages
    where: str = ""  # where `data` sits in the record: "", "signer", "keys[2]"

    def at(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def invalid(self, name: str, what: str) -> VerificationError:
        return VerificationError(
            "record-invalid", f"{self.source} field {self.at(name)} {what}", _NOT_FORMAT
        )

    def get(self, name: str, kinds: tuple[type, ...], what: str):
        if name not in self.data or type(self.data[name]) not in kinds:
            raise self.invalid(name, f"is missing or not {what}")
        value = self.data[name]
        if type(value) is str and not value.isprintable():
            raise self.invalid(name, "has a non-printable character")
        return value

    def text(self, name: str) -> str:
        return self.get(name, (str,), "a string")

    def texts(self, name: str) -> list[str]:
        values = self.get(name, (list,), "a list of strings")
        if not all(type(value) is str for value in values):
            raise self.invalid(name, "is missing or not a list of strings")
        if not all(value.isprintable() for value in values):
            raise self.invalid(name, "has a non-printable character")
        return values

    def sha256(self, name: str) -> str:
        value = self.text(name)
        if not _HEX64.fullmatch(value):
            raise self.invalid(name, "is not a SHA-256 (64 lowercase hex digits)")
        return value

    def table(self, name: str) -> _Fields:
        return _Fields(self.get(name, (dict,), "an object"), self.source, self.at(name))

    def tables(self, name: str) -> list[_Fields]:
        values = self.get(name, (list,), "a list of objects")
        if not all(type(value) is dict for value in values):
            raise self.invalid(name, "is missing or not a list of objects")
        return [
            _Fields(value, self.source, f"{self.at(name)}[{index}]")
            for index, value in enumerate(values, start=1)
        ]

    def listed(self, name: str, outputs: dict[str, str], *, optional: bool = False) -> str | None:
        """A file path field whose file must be one of the record's (already checked) outputs."""
        kinds = (str, type(None)) if optional else (str,)
        path = self.get(name, kinds, "a string or null" if optional else "a string")
        if path is not None and path not in outputs:
            raise self.invalid(name, f"names {path!r}, which outputs does not list")
        return path


def check_previous_record(path: Path) -> None:
    """`path` is a ceremony record signed by its signer: the record.json.sig and
    signer.pub.pem beside it hold, as `verify` checks them (a plan's previous_record)."""
    _signed_record(Path(path), None)


def _signed_record(record_path: Path, pinned: str | None) -> tuple[_Fields, bytes, str]:
    """The record, its signer's PEM and fingerprint, once its form and signature hold."""
    record_bytes = read_file(record_path, "record")
    record = _canonical_record(record_path, record_bytes)
    record_format = record.text("format")
    if record_format != RECORD_FORMAT:
        raise VerificationError(
            "record-format",
            f"{record_path} has format {json.dumps(record_format)}, "
            f"expected {json.dumps(RECORD_FORMAT)}",
            f"This tool verifies {RECORD_FORMAT} records only",
        )
    pem_path = record_path.with_name(SIGNER)
    sig_path = record_path.with_name(record_path.name + ".sig")
    pem = read_file(pem_path)
    fingerprint = _signer(pem_path, pem, record, pinned)
    verify_record_signature(pem, record_bytes, read_file(sig_path), source=str(sig_path))
    return record, pem, fingerprint


def _fixed_files(directory: Path) -> None:
    """The four files are there, each a regular file: a symlink, FIFO or device is refused
    (lstat) before anything is read, so nothing can hang verify or point out of the directory."""
    if not directory.is_dir():
        raise BadInputError("ceremony-dir-missing", f"{directory} is not a directory", _WHERE)
    modes = {name: _lstat_mode(directory / name) for name in UNLISTED}
    missing = [name for name, mode in modes.items() if mode is None]
    if len(missing) == len(UNLISTED):
        raise BadInputError(
            "not-a-ceremony-dir",
            f"{directory} is not a ceremony directory: it has none of "
            + ", ".join(UNLISTED),
            _WHERE,
        )
    if missing:
        raise VerificationError(
            "ceremony-file-missing",
            f"{directory / missing[0]} is missing",
            f"A finished ceremony has {', '.join(UNLISTED)}: this one did not finish, "
            f"or a file was removed; {EVIDENCE}",
        )
    for name, mode in modes.items():
        if not stat.S_ISREG(mode):
            raise VerificationError(
                "ceremony-file-not-regular", f"{directory / name} is not a regular file",
                REGULAR_ONLY,
            )


def _lstat_mode(path: Path) -> int | None:
    """The file's mode, not following a symlink; None when there is nothing at `path`."""
    try:
        return path.lstat().st_mode
    except FileNotFoundError:
        return None
    except OSError as error:
        raise unreadable(path, error) from None


def _canonical_record(path: Path, data: bytes) -> _Fields:
    changed = f"record.json changed after it was signed; {EVIDENCE}"
    try:
        value = strict_json.loads(data)
    except strict_json.Ambiguous as err:
        raise VerificationError("record-ambiguous", f"{path} {err.problem}", changed) from None
    except (ValueError, RecursionError):  # RecursionError: nested too deep to decode
        raise VerificationError("record-not-json", f"{path} is not JSON", changed) from None
    try:
        exact = canonical(value) == data
    except (ValueError, RecursionError):  # NaN, infinities, integers beyond 2**53; too deep
        exact = False
    if not exact:
        raise VerificationError(
            "record-not-canonical",
            f"{path} is not in RFC 8785 canonical form",
            f"Whitespace, key order and number forms count: {changed}",
        )
    if type(value) is not dict:
        raise VerificationError("record-invalid", f"{path} is not a JSON object", _NOT_FORMAT)
    return _Fields(value, str(path))


def _signer(path: Path, pem: bytes, record: _Fields, pinned: str | None) -> str:
    key = load_signer_key(pem, str(path))
    fingerprint = public_key_fingerprint(public_der(key))
    named = record.table("signer").sha256("fingerprint_sha256")
    if fingerprint != named:
        raise VerificationError(
            "signer-fingerprint-mismatch",
            f"{path} has fingerprint {fingerprint}, but record.json names signer {named}",
            f"signer.pub.pem is not the key the record names; compare both with the paper log "
            f"and {EVIDENCE}",
        )
    if pinned is not None and fingerprint != pinned:
        raise VerificationError(
            "signer-not-pinned",
            f"{path} has fingerprint {fingerprint}, not {pinned} as given with --signer",
            f"Another key signed this record; {EVIDENCE}",
        )
    return fingerprint


def _journal(path: Path, entries: list, record: _Fields, end: str | None) -> int:
    """The chain's line journal.entries is the one the record names, and (given `end` from
    the paper log) its last line is the one the ceremony ended with; returns journal.entries."""
    journal = record.table("journal")
    signed = journal.get("entries", (int,), "an integer")
    if signed < 1:
        raise journal.invalid("entries", "is not a positive integer")
    if len(entries) < signed:
        raise VerificationError(
            "journal-truncated",
            f"{path} has {len(entries)} lines, fewer than the {signed} record.json covers",
            f"Lines were removed after the record was signed; {EVIDENCE}",
        )
    if entries[signed - 1].line_hash != journal.text("head"):
        raise VerificationError(
            "journal-head-mismatch",
            f"{path} line {signed} is not the line record.json covers: its SHA-256 is not "
            "journal.head",
            f"The journal was rewritten after the record was signed; {EVIDENCE}",
        )
    computed = [list(lines) for lines in not_believed(entries[:signed])]
    if journal.get("not_believed", (list,), "a list") != computed:
        raise journal.invalid("not_believed", "does not list the lines resume did not believe")
    if end is not None and entries[-1].line_hash != end:
        raise VerificationError(
            "journal-end-mismatch",
            f"{path} ends at line {len(entries)} with SHA-256 {entries[-1].line_hash}, not "
            f"{end} as given with --journal-end",
            f"Lines after the record were changed, added or cut; {EVIDENCE}",
        )
    return signed


def _unsealed_note(entries: int, vouched: int) -> tuple[str, ...]:
    """A finished ceremony's journal ends with a seal of its last line; lines that neither the
    record nor a seal vouches for deserve a look."""
    if vouched >= entries:
        return ()
    lines = (f"line {entries} comes" if vouched + 1 == entries
             else f"lines {vouched + 1}-{entries} come")
    return (f"journal {lines} after the last seal: nothing shows the ceremony's tool wrote "
            f"{'it' if vouched + 1 == entries else 'them'}",)


def _outputs(directory: Path, record: _Fields) -> dict[str, str]:
    """Every listed file is there with its SHA-256, and nothing else is (CeremonyDir.outputs)."""
    listed = record.get("outputs", (dict,), "an object")
    for name, digest in listed.items():
        if not _output_path(name):
            raise record.invalid(
                "outputs", f"lists {name!r}, which is not an output path inside the directory"
            )
        if type(digest) is not str or not _HEX64.fullmatch(digest):
            raise record.invalid(
                "outputs", f"gives {name!r} a SHA-256 that is not 64 lowercase hex digits"
            )
    for name, digest in sorted(listed.items()):
        path = directory / name
        if not path.is_file():
            raise VerificationError(
                "output-missing",
                f"{path} is listed in record.json but missing",
                f"A file was removed after the record was signed; {EVIDENCE}",
            )
        actual = sha256_hex(read_file(path))
        if actual != digest:
            raise VerificationError(
                "output-altered",
                f"{path} has SHA-256 {actual}, but record.json lists {digest}",
                f"The file was changed after the record was signed; {EVIDENCE}",
            )
    for name in CeremonyDir(directory).outputs():
        if name not in listed:
            raise VerificationError(
                "output-unlisted",
                f"{directory / name} is not listed in record.json",
                f"A file was added after the record was signed; {EVIDENCE}",
            )
    return listed


def _output_path(name: str) -> bool:
    """A relative path with "/" that stays inside the directory and is not one of the fixed four."""
    path = PurePosixPath(name)
    return (
        name.isprintable()
        and "\\" not in name
        and path.as_posix() == name
        and not path.is_absolute()
        and ".." not in path.parts
        and name not in UNLISTED
    )


def _plan(directory: Path, record: _Fields, outputs: dict[str, str]) -> None:
    plan = record.table("plan")
    name = plan.listed("file", outputs)
    if outputs[name] != plan.text("sha256"):
        raise VerificationError(
            "plan-mismatch",
            f"{directory / name} has SHA-256 {outputs[name]}, but record.json plan.sha256 is "
            f"{plan.text('sha256')}",
            f"The record names another plan than the one in the directory; {EVIDENCE}",
        )


def _keys(directory: Path, record: _Fields, outputs: dict[str, str]) -> tuple[VerifiedKey, ...]:
    """Each package is for its KEK's kid and each public key has the recorded fingerprint."""
    kids = {kek.text("name"): kek.text("kid") for kek in record.tables("keks")}
    verified = []
    for key in record.tables("keys"):
        name, kek = key.text("name"), key.text("kek")
        if kek not in kids:
            raise key.invalid("kek", f"names {kek!r}, which keks does not list")
        files = key.table("files")
        byok = directory / files.listed("byok", outputs)
        data = read_file(byok)
        try:
            package = parse_byok(data, str(byok))
        except BadInputError as error:
            raise VerificationError(
                error.code, error.message, f"The ceremony did not write this package; {EVIDENCE}"
            ) from None
        if package.kid != kids[kek]:
            raise VerificationError(
                "byok-kid-mismatch",
                f"{byok} has header kid {package.kid}, but record.json gives KEK {kek} the kid "
                f"{kids[kek]}",
                f"The package is wrapped for another KEK: do not import it; {EVIDENCE}",
            )
        fingerprint = key.get("fingerprint_sha256", (str, type(None)), "a string or null")
        public_key = files.listed("public_key", outputs, optional=True)
        if public_key is not None:
            _public_key(directory / public_key, name, fingerprint)
        verified.append(VerifiedKey(name, package.kid, fingerprint))
    return tuple(verified)


def _public_key(path: Path, name: str, fingerprint: str | None) -> None:
    data = read_file(path)
    try:
        actual = public_key_fingerprint(public_der(load_pem_public_key(data)))
    except (ValueError, UnsupportedAlgorithm):
        raise VerificationError(
            "public-key-invalid",
            f"{path} is not a PEM public key",
            f"The ceremony did not write this file; {EVIDENCE}",
        ) from None
    if actual != fingerprint:
        raise VerificationError(
            "key-fingerprint-mismatch",
            f"{path} has fingerprint {actual}, but record.json gives key {name} the fingerprint "
            f"{fingerprint or 'null'}",
            f"This is not the public key of the key the ceremony made; {EVIDENCE}",
        )


def _name_notes(directory: Path, ceremony_id: str) -> tuple[str, ...]:
    """A ceremony writes <output directory>/<ceremony id>; a copy may be renamed, which is
    allowed (auditors copy directories) but worth saying."""
    name = directory.resolve().name
    if name == ceremony_id:
        return ()
    return (f"directory {name} is not named after ceremony {ceremony_id}; it may be a renamed "
            "copy",)


def _previous(record: _Fields, previous: Path | None) -> str | None:
    """The record names the previous record given (its file's SHA-256), when one is given."""
    named = record.get("previous_record_sha256", (str, type(None)), "a string or null")
    if previous is None:
        return named
    actual = sha256_hex(read_file(previous, "previous record"))
    if named is None:
        raise VerificationError(
            "previous-record-none",
            f"{record.source} names no previous record (previous_record_sha256 is null), but "
            f"--previous {previous} was given",
            "This ceremony is not chained to a previous one; check which record you expected",
        )
    if actual != named:
        raise VerificationError(
            "previous-record-mismatch",
            f"{previous} has SHA-256 {actual}, but {record.source} previous_record_sha256 is "
            f"{named}",
            "This ceremony follows another record; find the record.json it names",
        )
    return named
