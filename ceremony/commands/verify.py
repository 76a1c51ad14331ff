"""`ceremony verify DIR`: check a ceremony directory in software and summarise what held.

The checks live in ceremony/record/verify.py, which the engine calls too; this module only reads the
flags and prints the report. The exit code is 0 only when every check held (4 otherwise).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ceremony.commands.common import print_json
from ceremony.errors import BadInputError, printable
from ceremony.readback import hex_groups
from ceremony.record.canonical import SIGNATURE_ALGORITHM
from ceremony.record.verify import VerifyReport, verify_ceremony


def run_verify(args, env) -> int:
    if (args.signer is None) == (not args.unpinned):
        raise BadInputError(
            "signer-pin", "give --signer FINGERPRINT (from the paper log), or --unpinned, "
            "but not both",
            "Anyone can re-sign a forged directory with a key of their own; only the signer's "
            "fingerprint from the paper log proves the record is the ceremony's",
        )
    report = verify_ceremony(args.directory, signer=args.signer, previous=args.previous,
                             journal_end=args.journal_end)
    for warning in report.warnings:
        print(printable(f"ceremony: warning: record self-test: {warning}"), file=sys.stderr)
    for note in report.notes:
        print(printable(f"ceremony: warning: {note}"), file=sys.stderr)
    if not report.journal_end_checked:
        print(f"ceremony: warning: journal end not checked: lines after the "
              f"{report.journal_signed} the record covers could have been cut unseen; give "
              "--journal-end with the SHA-256 from the paper log", file=sys.stderr)
    if args.unpinned:
        print("ceremony: warning: signer not pinned: the directory is whole and signed by the "
              "key in signer.pub.pem, but nothing here shows that key is the ceremony signer; "
              "compare its fingerprint with the paper log", file=sys.stderr)
    if args.json:
        print_json(report.to_json())
    else:
        print(summary(report, args.previous))
    return 0


def summary(report: VerifyReport, previous: Path | None) -> str:
    pinned = (" (matches --signer)" if report.signer_pinned
              else " (NOT pinned: compare with the paper log)")
    lines = [
        f"Verified:   ceremony {report.ceremony_id} in {report.directory}",
        f"Signer:     {hex_groups(bytes.fromhex(report.signer_fingerprint))}{pinned}",
        f"Record:     RFC 8785 canonical, {SIGNATURE_ALGORITHM} signature valid",
        f"Journal:    {report.journal_entries} entries chained, the first "
        f"{report.journal_sealed} sealed by the signer; the record covers the first "
        f"{report.journal_signed}",
        "            last line " + ("matches --journal-end" if report.journal_end_checked
                                   else "NOT checked (give --journal-end from the paper log)"),
        f"Files:      {len(report.files)} match their SHA-256 in the record; none unlisted",
    ]
    for key in report.keys:
        public = f", public key {key.fingerprint_sha256}" if key.fingerprint_sha256 else ""
        lines.append(f"Key:        {key.name} for {key.kid}{public}")
    if report.previous_record_sha256 is None:
        lines.append("Previous:   none (the record starts a chain)")
    elif report.previous_checked:
        lines.append(f"Previous:   {previous} (SHA-256 {report.previous_record_sha256})")
    else:
        lines.append(
            f"Previous:   SHA-256 {report.previous_record_sha256} (not checked; give --previous)"
        )
    return "\n".join(lines)
