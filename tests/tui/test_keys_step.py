"""Step 5, Keys and features, in Textual's Pilot at 80x24 on a draft that already holds the
participants, the token and a real KEK (a SoftHSM rehearsal vault's): the keys typed in are
stored as the plan loader reads them, every rule shown is the core's own wording, and the
coverage view follows the keys as they stand."""

import pytest
from textual.widgets import Checkbox, Input, ListView, Select, Static, TabbedContent

from ceremony.azure.compat import check_target
from ceremony.azure.kid import parse_kid
from ceremony.databricks.catalog import key_allowed, load_catalog
from ceremony.errors import BadInputError
from ceremony.keyspec import KeySpec
from ceremony.plan.draft import Draft
from tests.conftest import TOKEN
from tests.support.rehearsal import make_vault
from tests.tui.steps import walk_to
from tui.app import WizardApp
from tui.screens.keys import KeysScreen
from tui.state import WizardState
from tui.widgets.coverage_table import CoverageTable


@pytest.fixture
def kek(token_store):
    vault, kek = make_vault(token_store, 2048)
    vault.service.close()
    return kek


def draft(kek, tmp_path) -> Draft:
    (tmp_path / "kek.pem").write_bytes(kek.public_pem)
    return Draft({
        "ceremony": {"id": "keys", "purpose": "keys step tests", "workspaces": ["adb-test"]},
        "participant": [{"name": "Ada", "role": "administrator"},
                        {"name": "Cid", "role": "custodian"},
                        {"name": "Cora", "role": "custodian"}],
        "hsm": {"token": TOKEN, "user_pin": "env:CEREMONY_USER_PIN",
                "so_pin": "env:CEREMONY_SO_PIN"},
        "kek": [{"name": "kv", "file": "kek.pem", "kid": kek.kid}],
        "output": {"directory": "out"},
    })


@pytest.fixture
def state(kek, tmp_path, token_store):
    return WizardState(token_store.env, tmp_path, tmp_path / "plan.toml", draft(kek, tmp_path))


async def to_keys(pilot) -> KeysScreen:
    """Go forward through the earlier steps (each accepts the prepared draft) to this one."""
    return await walk_to(pilot, KeysScreen)


async def type_into(pilot, screen, field: str, text: str) -> None:
    screen.query_one(f"#{field}", Input).focus()
    await pilot.press(*text)


async def add_key(pilot, screen, name: str, feature: str, kind: str = "rsa") -> None:
    """F2, then the key's fields typed and its feature ticked with the keyboard; the type is
    chosen by setting the Select's value (its overlay list is not what is tested here)."""
    await pilot.press("f2")
    await pilot.press(*name)
    await type_into(pilot, screen, "label", f"cmk{name}")
    await type_into(pilot, screen, "azure_name", f"adb{name}")
    if kind != "rsa":
        screen.query_one("#type", Select).value = kind
        await pilot.pause()
    screen.query_one(f"#serves-{feature}", Checkbox).focus()
    await pilot.press("space")
    await pilot.pause()


def shown(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_three_rsa_keys_for_the_three_features_make_a_plan_that_covers_them(state):
    app = WizardApp(state)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_keys(pilot)
        for feature in load_catalog().feature_ids:
            await add_key(pilot, screen, feature.replace("-", ""), feature)
        assert "✓ key[3] passes the plan check" in shown(screen, "#rules")
        assert screen.blockers() == ()
        table = screen.query_one("#coverage", CoverageTable)
        assert "✓ 16 covered · ✗ 0 not covered · ⊘ 6 not coverable" in table.plain
        for feature in load_catalog().features:
            for data_type in feature.data_types:
                assert (f"✓ covered: {data_type.name}. " in table.plain
                        and f"Key {feature.id.replace('-', '')} via {feature.id}" in table.plain)
    plan = state.check().plan
    assert plan is not None
    assert [(key.name, key.features, key.spec.kind, key.kek, key.key_ops) for key in plan.keys] == [
        ("managedservices", ("managed-services",), "rsa", "kv", ("wrapKey", "unwrapKey")),
        ("manageddisks", ("managed-disks",), "rsa", "kv", ("wrapKey", "unwrapKey")),
        ("dbfsroot", ("dbfs-root",), "rsa", "kv", ("wrapKey", "unwrapKey")),
    ]
    assert '[[key]]\nname = "managedservices"\nlabel = "cmkmanagedservices"\norigin = "generate"'\
        in state.draft.text()


async def test_an_ec_key_for_managed_services_shows_the_catalog_rule(state):
    app = WizardApp(state)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_keys(pilot)
        await add_key(pilot, screen, "services", "managed-services", kind="ec")
        feature = load_catalog().feature("managed-services")
        rule = key_allowed(feature, KeySpec("ec", curve="P-256"))
        assert f"✗ key[1].features[1]: {rule}" in shown(screen, "#rules")
        assert "managed-services: ✓ ticked" in str(
            screen.query_one("#serves-managed-services", Checkbox).label)
        assert "✗ services EC P-256" in str(screen.query_one("#key-list ListItem Label").render())
        assert "key[1] services is not counted" in screen.query_one(CoverageTable).plain
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, KeysScreen)
        assert rule in shown(screen, "#problems")


async def test_an_aes_key_for_a_key_vault_shows_the_vault_rule(state):
    app = WizardApp(state)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_keys(pilot)
        await pilot.press("f2", *"wrapper")
        screen.query_one("#type", Select).value = "aes"
        await pilot.pause()
        kid = parse_kid(state.draft.tables("kek")[0]["kid"])
        with pytest.raises(BadInputError) as refused:
            check_target(kid, KeySpec("aes", size=128))
        assert refused.value.message in shown(screen, "#rules").replace("\n", " ")


async def test_a_second_key_for_a_served_feature_is_refused_in_the_loaders_words(state):
    app = WizardApp(state)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_keys(pilot)
        await add_key(pilot, screen, "first", "dbfs-root")
        await add_key(pilot, screen, "second", "dbfs-root")
        assert ("✗ key[2].features[1]: dbfs-root is already served by key[1] for workspace "
                "adb-test; a workspace's feature takes one key") in shown(screen, "#rules")


async def test_the_coverage_view_says_not_covered_for_a_feature_no_key_serves(state):
    app = WizardApp(state)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_keys(pilot)
        await add_key(pilot, screen, "services", "managed-services")
        await pilot.press("f3")
        await pilot.pause()
        assert screen.query_one("#tabs", TabbedContent).active == "tab-coverage"
        table = screen.query_one(CoverageTable)
        assert table.region.height > 10  # the coverage tab shows it, at 80x24
        assert ("✗ not covered: Temporary data on the managed data disks of classic compute. "
                "Classic compute data disks. No key serves managed-disks.") in table.plain
        assert "✓ covered: Secrets stored through the secret manager APIs" in table.plain
        assert "⊘ not coverable: OS disks of classic compute VMs" in table.plain
        assert "✓ 8 covered · ✗ 8 not covered · ⊘ 6 not coverable" in shown(
            screen, "#coverage-summary")


async def test_going_back_and_forth_keeps_the_keys_and_selecting_one_edits_it(state):
    app = WizardApp(state)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_keys(pilot)
        await add_key(pilot, screen, "services", "managed-services")
        await add_key(pilot, screen, "disks", "managed-disks")
        await pilot.press("escape")
        assert not isinstance(app.screen, KeysScreen)
        screen = await to_keys(pilot)
        assert screen.query_one("#name", Input).value == "disks"
        keys = screen.query_one("#key-list", ListView)
        keys.focus()
        await pilot.press("up")
        assert screen.query_one("#name", Input).value == "services"
        assert screen.query_one("#serves-managed-services", Checkbox).value
        await type_into(pilot, screen, "azure_name", "x")
        keys.focus()
        await pilot.press("down")
        assert screen.query_one("#azure_name", Input).value == "adbdisks"
        keys.focus()
        await pilot.press("up", "delete")
        await pilot.pause()
    assert [(key["azure_name"], key["kek"], key["features"])
            for key in state.draft.tables("key")] == [("adbdisks", "kv", ["managed-disks"])]


async def test_workspaces_are_added_removed_and_checked_by_the_loader(state):
    state.draft.section("ceremony")["workspaces"] = []
    app = WizardApp(state)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_keys(pilot)
        assert screen.query_one("#tabs", TabbedContent).active == "tab-workspaces"
        await type_into(pilot, screen, "workspace", "ab")
        await pilot.press("enter")
        assert "✗ ceremony.workspaces[1]: 'ab' is neither a workspace name" in shown(
            screen, "#workspace-rules")
        await type_into(pilot, screen, "workspace", "adbanalytics")
        await pilot.press("enter")
        screen.query_one("#workspace-list", ListView).focus()
        await pilot.press("up", "delete")
        await pilot.pause()
        assert shown(screen, "#workspace-rules") == ""
    assert state.draft.section("ceremony")["workspaces"] == ["adbanalytics"]
