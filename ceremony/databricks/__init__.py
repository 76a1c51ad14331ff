"""Azure Databricks customer-managed keys: the catalog of CMK features and coverage reports.

Kept apart from `azure/` (vault, kid and `.byok` rules) because it answers a different
question: not "will the vault take this key?" but "what Databricks data will this key protect,
and what stays unprotected?". Nothing here touches the HSM or a UI library.
"""
