"""The KEK step in Textual's Pilot at 80x24: a rehearsal vault's KEK picked from the media,
each rule shown, the fingerprint the KEK's own, the administrator's y or n deciding."""

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ceremony.azure.kek import load_kek
from ceremony.readback import hex_groups
from tests.support.rehearsal import make_vault
from tests.tui.steps import settle
from tests.tui.test_token_step import at_step, ready_state
from tui.app import WizardApp
from tui.screens.keks import KeksScreen
from tui.screens.questions import ConfirmScreen
from tui.screens.token import TokenScreen
from tui.widgets.fingerprint import Fingerprint, fingerprint_rows


def media_with_keks(state, kek) -> None:
    """The vault's KEK as kek.pem, and an EC public key as ec.pem (sorted first in the tree)."""
    (state.media / "kek.pem").write_bytes(kek.public_pem)
    (state.media / "notes.txt").write_text("not a KEK: the tree leaves it out")
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    (state.media / "ec.pem").write_bytes(ec_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


async def at_keks(pilot) -> KeksScreen:
    await at_step(pilot, TokenScreen, 2)
    return await at_step(pilot, KeksScreen, 1)


def rules(screen) -> list[str]:
    return str(screen.query_one("#rules").render()).splitlines()


async def test_each_rule_is_shown_and_y_adds_the_confirmed_kek(token_store, tmp_path):
    _, kek = make_vault(token_store)
    state = ready_state(tmp_path, token_store.env)
    media_with_keks(state, kek)
    app = WizardApp(state)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await at_keks(pilot)
        tree = screen.query_one("#files")
        assert [node.label.plain for node in tree.root.children] == ["ec.pem", "kek.pem"]
        await pilot.press("down", "enter")  # ec.pem
        await settle(pilot)
        shown = rules(screen)
        assert shown[:2] == ["✓ passes  the file can be read",
                             "✓ passes  it holds one public key (PEM, DER or az JSON), no "
                             "private key"]
        assert shown[2].startswith("✗ fails   the key is RSA: KEK file ")
        assert "holds a non-RSA key (EC secp256r1)" in "".join(shown[2:])
        assert shown[-1] == "· not checked  a versioned Key Vault kid, the same wherever it " \
                            "is given"
        assert not screen.query(Fingerprint)

        await pilot.press("down", "enter", "tab", *kek.kid)  # kek.pem, then its kid
        await settle(pilot)
        assert all(line.startswith("✓ passes") for line in rules(screen))
        assert len(rules(screen)) == 6
        expected = load_kek(state.media / "kek.pem", kek.kid)
        words = expected.pgp_words
        value = hex_groups(bytes.fromhex(expected.fingerprint))
        shown = str(screen.query_one(Fingerprint).render()).splitlines()
        assert shown == fingerprint_rows(value, words)
        assert screen.query_one("#kek-name").value == expected.kid.vault_name

        await pilot.press("enter")  # Enter in the kid field: the administrator is asked
        assert isinstance(app.screen, ConfirmScreen)
        assert "Ada, compare this with the KEK fingerprint" in str(
            app.screen.query_one(".question").render())
        await pilot.press("n")
        assert state.draft.tables("kek") == []
        assert "was not added" in str(screen.query_one("#problems").render())

        screen.query_one("#kid").focus()
        await pilot.press("enter", "y")
        await pilot.pause()
        assert state.draft.tables("kek") == [{
            "name": expected.kid.vault_name, "file": str(state.media / "kek.pem"),
            "kid": kek.kid, "json": ""}]
        listed = screen.query_one("#added").children[0].query_one("Label").render()
        assert str(listed) == f"✓ confirmed  {expected.kid.vault_name}  {kek.kid}"
        assert state.check().under("kek") == ()  # the loader takes it

        screen.query_one("#added").focus()
        await pilot.press("delete")
        assert state.draft.tables("kek") == []


async def test_a_1024_bit_kek_names_the_size_rule(token_store, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa

    _, kek = make_vault(token_store)
    state = ready_state(tmp_path, token_store.env)
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    (state.media / "small.pem").write_bytes(small.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    app = WizardApp(state)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await at_keks(pilot)
        await pilot.press("down", "enter", "tab", *kek.kid)
        await settle(pilot)
        shown = rules(screen)
        assert shown[3].startswith("✗ fails   2048, 3072 or 4096 bits: KEK file ")
        assert "holds a 1024-bit RSA key" in " ".join(shown)
        await pilot.press("enter")
        assert isinstance(app.screen, KeksScreen)  # nothing to confirm
        assert "pick a KEK file whose rules all pass" in str(
            screen.query_one("#problems").render())
