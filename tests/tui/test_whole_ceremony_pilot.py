"""A whole ceremony in the wizard, driven by Textual's Pilot at 80x24 on a real SoftHSM rehearsal
token, from an empty WizardState: every plan-building step typed in, the plan saved and started
with Ctrl+S, every question the engine asks answered in its modal (the SO PIN typed in two
halves by its two custodians), the Done screen, then `ceremony verify` on what it wrote."""

import json
import re

from textual.widgets import Label, OptionList

from ceremony.cli import main
from ceremony.databricks.catalog import load_catalog
from tests.conftest import SO_PIN, TOKEN, USER_PIN
from tests.support.rehearsal import make_vault
from tests.tui.steps import answered, checked, settle, tab_to, walk_to
from tui.app import WizardApp
from tui.screens.done import DoneScreen
from tui.screens.keks import KeksScreen
from tui.screens.keys import KeysScreen
from tui.screens.participants import ParticipantsScreen
from tui.screens.questions import ConfirmScreen
from tui.screens.review import ReviewScreen
from tui.screens.token import TokenScreen
from tui.state import WizardState

PEOPLE = (("Ada", "administrator"), ("Cid", "custodian"), ("Cora", "custodian"),
          ("Wes", "witness"))
SO_PARTS = (SO_PIN[:len(SO_PIN) // 2], SO_PIN[len(SO_PIN) // 2:])
# Digests are written as hex groups and long hex or base64 runs: none is a PIN leaked, and a
# 4-digit PIN part would match one of their groups by chance now and then.
DIGESTS = re.compile(r"[0-9A-Fa-f]{4}(?: [0-9A-Fa-f]{4})+|[A-Za-z0-9+/]{16,}={0,2}")


async def choose(pilot, selector: str, shown: str):
    """Open the drop-down `selector` (Tab to it, Enter), arrow down to the choice `shown`,
    Enter; the drop-down."""
    select = await tab_to(pilot, selector)
    await pilot.press("enter")
    for _ in range(5):
        if str(select.query_one(OptionList).highlighted_option.prompt) == shown:
            break
        await pilot.press("down")
    await pilot.press("enter")
    return select


async def welcome(pilot) -> None:
    await pilot.press(*"whole", "tab", *"a whole ceremony in the wizard")
    await pilot.press("ctrl+n")


async def participants(pilot) -> None:
    screen = await walk_to(pilot, ParticipantsScreen)
    for name, role in PEOPLE:
        await tab_to(pilot, "#name")
        await pilot.press(*name)
        if role != "custodian":  # the role offered first
            assert (await choose(pilot, "#role", role)).value == role
        await tab_to(pilot, "#add-person")
        await pilot.press("enter")
    assert [str(label.render()) for label in screen.query("#people Label")] == [
        f"{name} ({role})" for name, role in PEOPLE]
    await pilot.press("ctrl+n")


async def token(pilot) -> None:
    screen = await walk_to(pilot, TokenScreen)
    await settle(pilot)
    await tab_to(pilot, "#tokens")
    for _ in range(3):  # the test token and the vault's, in the module's slot order
        if str(screen.query_one("#chosen", Label).render()).startswith(f"▶ Chosen: {TOKEN} "):
            break
        await pilot.press("down")
    assert str(screen.query_one("#chosen", Label).render()).startswith(f"▶ Chosen: {TOKEN} ")
    assert screen.query_one("#wrap-policy").value == "trusted"
    assert screen.query_one("#user-pin").value == "prompt"
    assert (await choose(pilot, "#so-pin", "split between custodians")).value == "split"
    await tab_to(pilot, "#so-custodians")
    await pilot.press("space", "down", "space")  # Cid types part 1, Cora part 2
    await pilot.press("ctrl+n")


async def keks(pilot, kek) -> None:
    screen = await walk_to(pilot, KeksScreen)
    await settle(pilot)
    await pilot.press("down", "enter")  # kek.pem, the one file on the media
    await settle(pilot)
    await tab_to(pilot, "#kid")
    await pilot.press(*kek.kid)
    await settle(pilot)
    assert all(line.startswith("✓ passes") for line in
               str(screen.query_one("#rules").render()).splitlines())
    await pilot.press("enter")
    assert isinstance(pilot.app.screen, ConfirmScreen)
    await pilot.press("y")
    await pilot.pause()
    assert len(pilot.app.state.draft.tables("kek")) == 1
    await pilot.press("ctrl+n")


async def keys(pilot) -> None:
    screen = await walk_to(pilot, KeysScreen)
    await pilot.pause()
    assert pilot.app.focused is screen.query_one("#workspace")  # no workspace yet
    await pilot.press(*"adb-test", "enter")
    for feature in load_catalog().feature_ids:
        name = feature.replace("-", "")
        await pilot.press("f2", *name)
        await tab_to(pilot, "#label")
        await pilot.press(*f"cmk{name}")
        await tab_to(pilot, "#azure_name")
        await pilot.press(*f"adb{name}")
        await tab_to(pilot, f"#serves-{feature}")
        await pilot.press("space")
    assert screen.blockers() == ()
    await pilot.press("ctrl+n")


def pin_leaks(path) -> list[str]:
    text = DIGESTS.sub(" ", path.read_bytes().decode("latin-1"))
    return [f"{path}: {pin}" for pin in (USER_PIN, SO_PIN, *SO_PARTS) if pin in text]


async def test_a_whole_ceremony_typed_in_the_wizard_verifies(token_store, tmp_path):
    vault, kek = make_vault(token_store)
    vault.service.close()
    media = tmp_path / "media"
    media.mkdir()
    (media / "kek.pem").write_bytes(kek.public_pem)
    state = WizardState(env=token_store.env, media=media, plan_path=tmp_path / "plan.toml")
    app = WizardApp(state)
    answers: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await welcome(pilot)
        await participants(pilot)
        await token(pilot)
        await keks(pilot, kek)
        await keys(pilot)
        await walk_to(pilot, ReviewScreen)
        assert (await checked(pilot)).startswith("✓ Ready")
        await pilot.press("ctrl+s")
        pins = {f"user of token {TOKEN}": USER_PIN,
                "Cid (SO PIN part 1 of 2)": SO_PARTS[0], "Cora (SO PIN part 2 of 2)": SO_PARTS[1]}
        await answered(pilot, app, answers, pins)
        assert app.error is None
        assert pins == {}  # each PIN and part asked for once, typed by its holder
        assert isinstance(app.screen, DoneScreen)
        assert "✓ Ceremony completed" in str(app.screen.query_one("#done-title").render())
    assert answers == ["Ada", "Wes"]
    directory = tmp_path / "ceremonies" / "whole"
    assert app.outcome.directory == directory
    record = json.loads((directory / "record.json").read_bytes())
    assert record["operator"] == {"kind": "tui", "scripted": False}
    assert [(key["name"], key["features"]) for key in record["keys"]] == [
        (feature.replace("-", ""), [feature]) for feature in load_catalog().feature_ids]
    assert main(["verify", str(directory), "--signer",
                 record["signer"]["fingerprint_sha256"]]) == 0
    saved = tmp_path / "whole.plan.toml"
    assert state.plan.path == saved
    written = [path for path in directory.rglob("*") if path.is_file()]
    assert [leak for path in [saved, *written] for leak in pin_leaks(path)] == []
