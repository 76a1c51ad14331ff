"""The wizard's draft plan: its TOML is what the loader checks, and reads back the same."""

import tomllib
from importlib import resources
from pathlib import Path

from ceremony.plan.draft import Draft
from ceremony.plan.load import load_plan

EXAMPLE = Path(str(resources.files("ceremony") / "examples/example-plan.toml"))


def test_a_plan_read_into_a_draft_writes_the_same_tables():
    plan = load_plan(EXAMPLE)
    text = Draft.from_plan(plan).text()
    assert tomllib.loads(text) == tomllib.loads(plan.text)
    assert "\n[[participant]]\nname = \"Alice Administrator\"\n" in text
    assert text.startswith("# A ceremony plan made in the cmk-ceremony wizard.")


def test_empty_fields_are_left_out_and_reported_missing(tmp_path):
    draft = Draft()
    draft.section("ceremony").update(id="q4", purpose="", workspaces=[])
    checked = draft.check(tmp_path / "plan.toml")
    assert checked.plan is None
    assert checked.under("ceremony.purpose") == ("ceremony.purpose: required field is missing",)
    assert "purpose" not in draft.text()


def test_problems_are_found_under_and_above_a_field(tmp_path):
    draft = Draft()
    draft.tables("participant").append({"name": "Ada", "role": "administrator"})
    checked = draft.check(tmp_path / "plan.toml")
    assert checked.under("ceremony.id") == ("ceremony: required section is missing",)
    assert checked.under("participant") == (
        "participant: needs at least two custodians (split knowledge), has 0",)
    assert checked.under("kek") == ("kek: required section is missing",)


def test_a_draft_that_passes_gives_the_plan_of_its_bytes(tmp_path):
    plan = load_plan(EXAMPLE)
    draft = Draft.from_plan(plan)
    checked = draft.check(EXAMPLE)
    assert checked.problems == ()
    assert checked.plan.keys == plan.keys
    assert checked.plan.text == draft.text()
