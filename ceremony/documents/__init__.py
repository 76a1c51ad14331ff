"""The two human documents a ceremony leaves: `runbook.md` (runbook.py) and `report.md` (report.py).

Both are rendered from the record dict (docs/record-format.md, without `outputs`, which lists
their own hashes) and the CMK catalog, not from engine objects, so they say exactly what the
signed record says and can be rendered again from `record.json` alone. Each document has its own
module because each changes for its own readers: the runbook for the person at the Azure
workstation, the report for signers and auditors.
"""
