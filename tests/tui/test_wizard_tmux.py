"""`ceremony tui PLAN` in a real terminal (tmux, 80x24) on real SoftHSM tokens: people answer
every modal with the keyboard and the ceremony completes with a record that verifies."""

import json

import pytest

from ceremony.cli import main
from ceremony.plan.load import load_plan
from ceremony.readback import hex_groups, pgp_words
from tests.conftest import SO_PIN, USER_PIN
from tests.support.rehearsal import make_vault, small_plan
from tests.tui.tmux import TmuxWizard
from tui.app import BUILD_STEPS


@pytest.fixture
def plan(token_store, tmp_path):
    """The small plan, its user PIN typed in the wizard's masked field."""
    vault, kek = make_vault(token_store)
    vault.service.close()
    path = small_plan(tmp_path / "plan", kek)
    path.write_text(path.read_text().replace('user_pin = "env:CEREMONY_USER_PIN"',
                                             'user_pin = "prompt"'))
    return path


@pytest.fixture
def kek(plan):
    return load_plan(plan).keks[0].kek


@pytest.fixture
def wizard(plan, kek, token_store, tmp_path):
    env = {**token_store.env, "CEREMONY_SO_PIN": SO_PIN}
    env.pop("CEREMONY_USER_PIN", None)
    running = TmuxWizard(tmp_path, plan, env)
    yield running
    running.close()


def start(wizard) -> None:
    """`ceremony tui PLAN` opens at Review: once the plan check passes, Ctrl+S starts."""
    shown = wizard.wait_for("✓ Ready: the plan check passes. Ctrl+S starts the ceremony")
    steps = len(BUILD_STEPS)
    assert f"Step {steps} of {steps}: Review" in shown
    wizard.keys("C-s")


def test_a_whole_ceremony_typed_in_the_wizard(wizard, plan, kek, token_store):
    start(wizard)
    digest = bytes.fromhex(kek.fingerprint)
    shown = wizard.wait_for("compare this with the KEK fingerprint")
    hex_rows = hex_groups(digest).split(" ")
    assert " ".join(hex_rows[:8]) in shown and " ".join(hex_rows[8:]) in shown
    assert all(word in shown for word in pgp_words(digest))
    assert "Yes (y)" in shown and "No (n)" in shown
    wizard.keys("y")
    wizard.wait_for("PIN for user of token test")
    wizard.type(USER_PIN)
    shown = wizard.wait_for("Key services")
    assert "read these words aloud for the paper log. Does the log match the" in shown
    wizard.keys("y")
    wizard.wait_for("Key disks")
    wizard.keys("y")
    wizard.wait_for("Ada (administrator), type your name")
    wizard.type("Ada")
    wizard.wait_for("Wes (witness), type your name")
    wizard.type("Wes")
    shown = wizard.wait_for("Type Yes and Enter to go on")
    assert "This cannot be undone." in shown
    wizard.type("Yes")
    final = wizard.wait_for("✓ verified: every check `ceremony verify` makes held")
    assert "✓ Ceremony completed:" in final
    assert all(USER_PIN not in screen for screen in wizard.screens)
    wizard.keys("C-q")
    assert wizard.exit_code() == 0
    directory = plan.parent / "out" / "small"
    record = json.loads((directory / "record.json").read_bytes())
    assert record["operator"] == {"kind": "tui", "scripted": False}
    assert main(["verify", str(directory), "--unpinned"], env=token_store.env) == 0


def quit_at_the_user_pin(wizard, plan) -> None:
    """Start the ceremony, confirm the KEK, then quit (Ctrl+C asks first) at the user PIN."""
    start(wizard)
    wizard.wait_for("compare this with the KEK fingerprint")
    wizard.keys("y")
    wizard.wait_for("PIN for user of token test")
    wizard.keys("C-c")
    assert "Stop the ceremony and quit?" in wizard.wait_for("Yes, quit")
    wizard.keys("y")
    assert wizard.exit_code() == 130
    directory = plan.parent / "out" / "small"
    said = wizard.screen(joined=True)
    assert (f"ceremony: interrupted; the journal records it. Resume it with `ceremony tui "
            f"--resume {directory}`, or abort it with `ceremony abort {directory}`") in said
    journal = (plan.parent / "out" / "small" / "journal.jsonl").read_text().splitlines()
    assert json.loads(journal[-1])["type"] == "interrupted"


@pytest.fixture
def reopened(wizard, plan, token_store, tmp_path):
    """The wizard quit mid-ceremony, then `ceremony tui --resume DIR` in a new terminal."""
    quit_at_the_user_pin(wizard, plan)
    (tmp_path / "again").mkdir()
    env = {**token_store.env, "CEREMONY_SO_PIN": SO_PIN}
    again = TmuxWizard(tmp_path / "again", None, env, "--resume",
                       str(plan.parent / "out" / "small"))
    again.wait_for("r Resume")
    yield again
    again.close()


def test_a_quit_ceremony_resumes_in_the_wizard(reopened, plan, token_store):
    reopened.keys("r")
    reopened.wait_for("compare this with the KEK fingerprint")  # not sealed: asked again
    reopened.keys("y")
    reopened.wait_for("PIN for user of token test")
    reopened.type(USER_PIN)
    for key in ("services", "disks"):
        reopened.wait_for(f"Key {key}")
        reopened.keys("y")
    for name, role in (("Ada", "administrator"), ("Wes", "witness")):
        reopened.wait_for(f"{name} ({role}), type your name")
        reopened.type(name)
    reopened.wait_for("Type Yes and Enter to go on")
    reopened.type("Yes")
    reopened.wait_for("✓ verified: every check `ceremony verify` makes held")
    reopened.keys("C-q")
    assert reopened.exit_code() == 0
    directory = plan.parent / "out" / "small"
    assert main(["verify", str(directory), "--unpinned"], env=token_store.env) == 0
    types = [json.loads(line)["type"] for line in
             (directory / "journal.jsonl").read_text().splitlines()]
    assert "interrupted" in types and "resumed" in types


def test_a_quit_ceremony_is_aborted_in_the_wizard(reopened, plan):
    reopened.keys("a")
    reopened.wait_for("PIN for user of token test")  # to look for keys the ceremony made
    reopened.type(USER_PIN)
    reopened.wait_for("✓ Ceremony small aborted: 0 keys destroyed")  # quit before any key
    reopened.wait_for("ceremony small aborted on token test")
    reopened.keys("C-q")
    assert reopened.exit_code() == 0
    types = [json.loads(line)["type"] for line in
             (plan.parent / "out" / "small" / "journal.jsonl").read_text().splitlines()]
    assert "ceremony-aborted" in types


def test_a_refused_kek_stops_the_ceremony_with_the_engines_error(wizard, plan):
    start(wizard)
    wizard.wait_for("compare this with the KEK fingerprint")
    wizard.keys("n")
    shown = wizard.wait_for("Stopped (kek-rejected)")
    assert "Ada did not confirm the fingerprint of KEK kv" in shown
    wizard.keys("Escape")
    assert "✗ Ceremony small stopped" in wizard.wait_for("stopped. Press Ctrl+Q to close")
    wizard.keys("C-q")
    assert wizard.exit_code() == 1
    assert "ceremony: error: Ada did not confirm the fingerprint of KEK kv." in wizard.screen()
    journal = (plan.parent / "out" / "small" / "journal.jsonl").read_text().splitlines()
    assert json.loads(journal[-1])["data"]["code"] == "kek-rejected"
