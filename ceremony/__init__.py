"""cmk-ceremony: key ceremonies that bring HSM keys to Azure for Azure Databricks CMK.

The core package never imports a UI library at import time (DESIGN.md section 3.6).
"""

__version__ = "0.1.0"
