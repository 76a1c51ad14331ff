"""Invariant 6: the core imports no textual or rich at import time."""

import json
import subprocess
import sys

PROBE = """
import importlib, json, pkgutil, sys
import ceremony
names = [m.name for m in pkgutil.walk_packages(ceremony.__path__, "ceremony.")
         if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
ui = sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich"))
print(json.dumps({"modules": names, "ui": ui}))
"""


def test_no_ui_library_is_imported_by_any_core_module():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert "ceremony.cli" in result["modules"] and "ceremony.hsm.service" in result["modules"]
    assert result["ui"] == []


def test_pkcs11_is_imported_only_inside_the_hsm_package():
    import pathlib

    root = pathlib.Path(__file__).parent.parent
    offenders = [
        str(path.relative_to(root))
        for folder in ("ceremony", "tui")
        for path in (root / folder).rglob("*.py")
        if "hsm" not in path.relative_to(root).parts
        and any(line.strip().startswith(("import pkcs11", "from pkcs11"))
                for line in path.read_text().splitlines())
    ]
    assert offenders == []
