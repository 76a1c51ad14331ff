"""The TTY operator: people answer at the terminal; a refusal stops the ceremony."""

import asyncio
import json

import pytest

from ceremony.engine import Engine
from ceremony.errors import StepFailed
from ceremony.operators import TtyOperator
from ceremony.plan import load_plan
from tests.support.rehearsal import make_vault, small_plan
from tests.test_ceremony import PIN_ENV


class Terminal:
    """A scripted person at the terminal: answers each question from a list, keeps the screen."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.screen = []

    def ask(self, text):
        self.screen.append(text)
        return self.answers.pop(0) + "\n"

    def say(self, text):
        self.screen.append(text)


@pytest.fixture
def plan(token_store, tmp_path):
    vault, kek = make_vault(token_store)
    vault.service.close()
    return load_plan(small_plan(tmp_path / "plan", kek))


def test_people_confirm_read_backs_sign_off_and_type_yes(plan, token_store):
    terminal = Terminal(["yes", "yes", "Ada", "Wes", "Yes"])
    operator = TtyOperator(terminal.ask, terminal.say, {**token_store.env, **PIN_ENV})
    outcome = asyncio.run(Engine(plan, operator, env={**token_store.env, **PIN_ENV}).run())
    assert terminal.answers == []
    screen = "\n".join(terminal.screen)
    assert "Cid, read these words aloud for the paper log" in screen
    assert "Type Yes to go on" in screen
    record = json.loads((outcome.directory / "record.json").read_bytes())
    assert record["operator"] == {"kind": "tty", "scripted": False}
    acks = {p["name"]: p["acknowledgements"] for p in record["participants"]}
    assert [a["scripted"] for a in acks["Wes"]] == [False]
    assert len(acks["Cid"]) == 2  # the read-back of both keys


def test_a_rejected_read_back_stops_the_ceremony(plan, token_store):
    terminal = Terminal(["no"])
    operator = TtyOperator(terminal.ask, terminal.say, {**token_store.env, **PIN_ENV})
    with pytest.raises(StepFailed) as caught:
        asyncio.run(Engine(plan, operator, env={**token_store.env, **PIN_ENV}).run())
    assert caught.value.line() == (
        "ceremony: error: Cid did not confirm the fingerprint of key services. Stop the "
        "ceremony; `ceremony abort DIR` destroys the keys it created"
    )
    journal = (plan.ceremony_dir / "journal.jsonl").read_text().splitlines()
    assert json.loads(journal[-1])["data"]["code"] == "readback-rejected"


def test_anything_but_yes_refuses_the_irreversible_step(plan, token_store):
    terminal = Terminal(["yes", "yes", "Ada", "Wes", "yes"])  # lower-case: not the typed Yes
    operator = TtyOperator(terminal.ask, terminal.say, {**token_store.env, **PIN_ENV})
    with pytest.raises(StepFailed) as caught:
        asyncio.run(Engine(plan, operator, env={**token_store.env, **PIN_ENV}).run())
    assert caught.value.code == "not-confirmed"
