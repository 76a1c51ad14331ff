"""Start-up: the commands that need no token load neither python-pkcs11 nor the engine.

Each command runs in a fresh interpreter under `-X importtime`, which names every module as it
finishes loading; the commands that touch no token must not name pkcs11, the HSM service or the
engine. `token list` must name them, so the probe is shown to see them. How fast start-up is
gets measured by scripts/bench-startup, not here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

import ceremony
from ceremony.cli import build_parser, handler
from ceremony.commands.arguments import EXPORT_POLICIES
from tests.conftest import TOKEN
from tests.support.ceremony_dir import VAULT_KID, build_ceremony

EXAMPLE_KEK = Path(ceremony.__file__).parent / "examples" / "kek-contoso-cmk-kv.pem"
HEAVY = ("ceremony.hsm.service", "ceremony.engine.ceremony")


def loaded(*argv: str, env=None) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run `python -m ceremony ARGV`; its result and the names of the modules it loaded."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "ceremony", *argv],
                            capture_output=True, text=True, timeout=60, env=env)
    names = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
             if line.startswith("import time:")}
    return result, names


def heavy(names: set[str]) -> list[str]:
    return sorted(name for name in names if name.split(".")[0] == "pkcs11" or name in HEAVY)


@pytest.mark.parametrize(("argv", "shows"), [
    (["--version"], "cmk-ceremony 0.1.0\n"),
    (["--help"], "usage: ceremony [-h] [--version] [--debug] COMMAND ..."),
    (["catalog"], "managed-services"),
    (["kek", "inspect", str(EXAMPLE_KEK), "--kid", VAULT_KID], f"KEK:          {VAULT_KID}"),
], ids=["version", "help", "catalog", "kek-inspect"])
def test_commands_without_a_token_load_no_pkcs11_and_no_engine(argv, shows):
    result, names = loaded(*argv)
    assert result.returncode == 0, result.stderr
    assert shows in result.stdout
    assert "ceremony.cli" in names
    assert heavy(names) == []


def test_verify_loads_no_pkcs11_and_no_engine(tmp_path):
    directory = build_ceremony(tmp_path).directory
    result, names = loaded("verify", str(directory), "--unpinned")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Verified:   ceremony ")
    assert "ceremony.record.verify" in names
    assert heavy(names) == []


def test_token_list_loads_pkcs11_so_the_probe_sees_it(token_store):
    result, names = loaded("token", "list", env=token_store.env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith(TOKEN)
    assert "pkcs11" in heavy(names) and "ceremony.hsm.service" in heavy(names)


def leaf_parsers(parser: argparse.ArgumentParser):
    """Every parser that runs a command, with the words that reach it."""
    groups = [action for action in parser._actions
              if isinstance(action, argparse._SubParsersAction)]
    if not groups:
        yield parser
    for group in groups:
        for sub in group.choices.values():
            yield from leaf_parsers(sub)


def test_every_command_names_a_handler_that_imports():
    leaves = list(leaf_parsers(build_parser()))
    assert len(leaves) == 12  # token list/info, plan check/new, catalog, kek inspect,
    #                           byok export/check, run, abort, tui, verify
    for leaf in leaves:
        assert callable(handler(leaf.get_default("handler"))), leaf.prog


def test_the_export_policies_are_the_wrapping_policies():
    """arguments.py spells the --policy choices so the grammar loads no PKCS#11 code."""
    from ceremony.hsm.templates import Policy

    assert [Policy(value) for value in EXPORT_POLICIES] == [Policy.TRUSTED, Policy.EXTRACTABLE]
