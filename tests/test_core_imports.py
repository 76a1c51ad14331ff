"""The import rules of the layout (DESIGN.md section 2, invariant 6), as tests.

The core imports no textual or rich at import time; python-pkcs11 is imported only under
ceremony/hsm; the record, the documents and the journal replay load no PKCS#11 code at all; and
nothing in ceremony imports the wizard (tui).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


ROOT = Path(__file__).parent.parent


def importing(folders: tuple[str, ...], prefixes: tuple[str, ...]) -> list[str]:
    """Source files under `folders` with an import statement naming one of `prefixes`."""
    statements = tuple(f"{word} {prefix}" for prefix in prefixes for word in ("import", "from"))
    return [
        str(path.relative_to(ROOT))
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
        if any(line.strip().startswith(statements) for line in path.read_text().splitlines())
    ]


def test_pkcs11_is_imported_only_inside_the_hsm_package():
    offenders = [name for name in importing(("ceremony", "tui"), ("pkcs11",))
                 if not name.startswith("ceremony/hsm/")]
    assert offenders == []
    assert "ceremony/hsm/keys.py" in importing(("ceremony",), ("pkcs11",))  # the check looks


def test_only_the_tui_command_imports_the_wizard_and_only_when_it_runs():
    """`ceremony tui` imports the wizard inside its handler (DESIGN.md section 2); importing
    every core module loads no textual (the first test here), so that import is not at the top."""
    assert importing(("ceremony",), ("tui.", "tui ")) == ["ceremony/commands/tui.py"]
    source = (ROOT / "ceremony/commands/tui.py").read_text()
    assert "\n    from tui.app import WizardApp\n" in source


LOADED = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "pkcs11"
                        or m.startswith("ceremony.engine.ceremony"))))
"""


def modules_under(package: str) -> list[str]:
    folder = ROOT / package.replace(".", "/")
    return [f"{package}.{path.stem}" for path in sorted(folder.glob("*.py"))
            if path.stem != "__init__"]


@pytest.mark.parametrize("module", [
    *modules_under("ceremony.record"), *modules_under("ceremony.documents"),
    "ceremony.engine.replay", "ceremony.hsm.types", "ceremony.layout",
])
def test_the_record_documents_and_replay_load_no_pkcs11(module):
    out = subprocess.run([sys.executable, "-c", LOADED, module], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == []


def test_the_probe_sees_pkcs11_where_it_is():
    out = subprocess.run([sys.executable, "-c", LOADED, "ceremony.hsm.service"],
                         capture_output=True, text=True, check=True)
    assert "pkcs11" in json.loads(out.stdout)
