"""scripts/tui-tmux: the whole rehearsal typed into the wizard that scripts/demo opens, in a real
terminal at 80x24, ending with the demo's own checks (verify, openssl, the vault's imports)."""

import json
import subprocess
from pathlib import Path

from ceremony.cli import main

ROOT = Path(__file__).parents[2]


def test_the_demo_wizard_is_followed_to_a_record_that_verifies(tmp_path):
    done = subprocess.run([str(ROOT / "scripts/tui-tmux"), str(tmp_path)], capture_output=True,
                          text=True, timeout=1200)
    screens = (tmp_path / "screens.txt").read_text() if (tmp_path / "screens.txt").exists() \
        else ""
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{screens[-6000:]}"
    assert "passed the demo's checks" in done.stdout
    for step in ("welcome", "participants", "token", "keks", "keys", "review", "ceremony"):
        assert f"✓ {step}\n" in done.stdout
    directory = tmp_path / "rehearsal" / "ceremonies" / "demo-wizard"
    record = json.loads((directory / "record.json").read_bytes())
    assert record["operator"] == {"kind": "tui", "scripted": False}
    assert [key["name"] for key in record["keys"]] == [
        "managed-services", "managed-disks", "dbfs-root"]
    assert main(["verify", str(directory), "--signer", record["signer"]["fingerprint_sha256"]],
                env={}) == 0
    assert "✓ verified" in screens
    wizard = [screen for screen in screens.split("\f")  # not the demo's own lines around it
              if " of 6: " in screen or "Ceremony demo-wizard" in screen
              or "✓ Ceremony completed" in screen]
    assert len(wizard) > 20
    pins = ("123456", "87654321")  # scripts/demo's rehearsal user and SO PINs
    assert not [screen for screen in wizard if any(pin in screen for pin in pins)]
    written = [directory.parent.parent / "demo-wizard.plan.toml",
               *(path for path in directory.rglob("*") if path.is_file())]
    assert len(written) > 10
    assert not [path for path in written if any(pin.encode() in path.read_bytes()
                                                for pin in pins)]
