"""The TTY operator: people answer at the terminal; a refusal stops the ceremony."""

import asyncio
import json
import re

import pytest

from ceremony.commands.tty import TtyOperator
from ceremony.engine.ceremony import Engine
from ceremony.engine.operator import ScriptedOperator
from ceremony.errors import StepFailed, TokenError
from ceremony.plan.load import load_plan
from tests.conftest import PIN_ENV, SO_PIN, USER_PIN
from tests.support.final_try import pretend_final_try
from tests.support.rehearsal import make_vault, small_plan
from tests.support.terminal import run_on_terminal


class Terminal:
    """A scripted person at the terminal: answers each question from a list, keeps the screen."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.screen = []

    async def ask(self, text):
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
    terminal = Terminal(["yes", "yes", "yes", "Ada", "Wes", "Yes"])
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
    assert acks["Ada"][0]["statement"] == (
        "confirmed the fingerprint of KEK kv against the one noted online")
    assert len(acks["Cid"]) == 2  # the read-back of both keys


def test_a_rejected_read_back_stops_the_ceremony(plan, token_store):
    terminal = Terminal(["yes", "no"])
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
    terminal = Terminal(["yes", "yes", "yes", "Ada", "Wes", "yes"])  # lower-case: not the typed Yes
    operator = TtyOperator(terminal.ask, terminal.say, {**token_store.env, **PIN_ENV})
    with pytest.raises(StepFailed) as caught:
        asyncio.run(Engine(plan, operator, env={**token_store.env, **PIN_ENV}).run())
    assert caught.value.code == "not-confirmed"


def test_interactive_cli_run_on_a_real_terminal(token_store, tmp_path):
    """The CLI without --yes asks on /dev/tty: a pseudo-terminal plays the people."""
    vault, kek = make_vault(token_store)
    vault.service.close()
    plan = small_plan(tmp_path / "plan", kek)
    plan.write_text(plan.read_text().replace('user_pin = "env:CEREMONY_USER_PIN"',
                                             'user_pin = "prompt"'))
    env = {**token_store.env, "CEREMONY_SO_PIN": SO_PIN}
    code, shown = run_on_terminal(
        ["run", str(plan)], env,
        [(b"compare this with the KEK fingerprint", b"yes"),
         (b"PIN for user of token test: ", USER_PIN.encode()),
         (b"Type yes once", b"yes"), (b"Type yes once", b"yes"),
         (b"Ada (administrator), type your name", b"Ada"),
         (b"Wes (witness), type your name", b"Wes"),
         (b"Type Yes to go on", b"Yes")],
        end=b"ceremony small completed")
    assert USER_PIN.encode() not in shown  # typed with echo off
    assert code == 0
    record = json.loads((tmp_path / "plan" / "out" / "small" / "record.json").read_bytes())
    assert record["operator"] == {"kind": "tty", "scripted": False}


@pytest.fixture
def final_try(monkeypatch):
    pretend_final_try(monkeypatch)


def test_a_person_confirms_the_final_pin_try(plan, token_store, final_try):
    terminal = Terminal(["yes", "Yes", "yes", "yes", "Ada", "Wes", "Yes"])
    operator = TtyOperator(terminal.ask, terminal.say, {**token_store.env, **PIN_ENV})
    outcome = asyncio.run(Engine(plan, operator, env={**token_store.env, **PIN_ENV}).run())
    assert any("allows one more user PIN try; a wrong PIN now locks it" in line
               for line in terminal.screen)
    journal = (outcome.directory / "journal.jsonl").read_text()
    assert '"type":"final-pin-try-confirmed"' in journal


def test_a_scripted_run_never_spends_the_final_pin_try(plan, token_store, final_try):
    with pytest.raises(TokenError) as caught:
        asyncio.run(Engine(plan, ScriptedOperator({**token_store.env, **PIN_ENV}),
                           env={**token_store.env, **PIN_ENV}).run())
    assert caught.value.line() == (
        "ceremony: error: token test reports the user PIN's final try; no PIN was tried. A "
        "scripted run never spends the final try; run without --yes so a person at the "
        "terminal confirms it once the PIN is certain"
    )


def test_a_kek_the_administrator_does_not_recognise_stops_before_the_token(plan, token_store):
    terminal = Terminal(["no"])
    operator = TtyOperator(terminal.ask, terminal.say, {**token_store.env, **PIN_ENV})
    with pytest.raises(StepFailed) as caught:
        asyncio.run(Engine(plan, operator, env={**token_store.env, **PIN_ENV}).run())
    assert caught.value.line() == (
        "ceremony: error: Ada did not confirm the fingerprint of KEK kv. Do not use this KEK "
        "file: fetch the KEK again from the vault and compare"
    )
    types = [json.loads(line)["type"] for line in
             (plan.ceremony_dir / "journal.jsonl").read_text().splitlines()]
    assert types == ["ceremony-started", "step-failed"]


class FrontEndOperator:
    """What a second front end (the wizard) supplies: answers only, no decisions of its own."""

    kind = "tui"
    scripted = False

    def __init__(self, env):
        self.env = env

    async def pin(self, who, source):
        return await ScriptedOperator(self.env).pin(who, source)

    async def confirm_kek(self, administrator, name, kid, value, words):
        return True

    async def confirm_readback(self, custodian, key, value, words):
        return True

    async def acknowledge(self, participant, role, statement):
        return participant

    async def confirm_irreversible(self, action):
        return "Yes"

    async def confirm_final_try(self, role, token):
        return "Yes"


HEX = re.compile(r"\b[0-9a-fA-F]{8,}\b|\b(?:[0-9A-F]{4} ){3,}[0-9A-F]{4}\b")
# Who answered: the one thing that differs by design between the operators.
WHO_ANSWERED = {"scripted", "operator", "kind"}


def normalised(value, root: str):
    """`value` with what differs between two runs on fresh tokens replaced: times, paths under
    the test's directory, and the hex of fresh keys, hashes and signatures."""
    if isinstance(value, dict):
        return {k: normalised(v, root) for k, v in value.items()
                if k not in WHO_ANSWERED and k not in ("time", "signature", "started",
                                                      "completed")}
    if isinstance(value, list):
        return [normalised(v, root) for v in value]
    if isinstance(value, str):
        return HEX.sub("<hex>", value.replace(root, "<dir>"))
    return value


def run_with(operator_for, token_store, tmp_path, name):
    vault, kek = make_vault(token_store)
    vault.service.close()
    plan = load_plan(small_plan(tmp_path / name, kek))
    env = {**token_store.env, **PIN_ENV}
    outcome = asyncio.run(Engine(plan, operator_for(env), env=env).run())
    root = str(tmp_path / name)
    journal = [normalised(json.loads(line), root) for line in
               (outcome.directory / "journal.jsonl").read_text().splitlines()]
    record = normalised(json.loads((outcome.directory / "record.json").read_bytes()), root)
    return journal, record


def test_the_same_answers_give_the_same_journal_and_record_whoever_asks(token_store, tmp_path):
    terminal = Terminal(["yes", "yes", "yes", "Ada", "Wes", "Yes"])
    operators = {
        "scripted": ScriptedOperator,
        "tty": lambda env: TtyOperator(terminal.ask, terminal.say, env),
        "tui": FrontEndOperator,
    }
    runs = {}
    for name, operator_for in operators.items():
        token_store.reset()
        runs[name] = run_with(operator_for, token_store, tmp_path, name)
    assert terminal.answers == []
    assert runs["tty"] == runs["scripted"] == runs["tui"]
    journal, record = runs["scripted"]
    assert len(journal) > 30 and record["keys"][0]["name"] == "services"


@pytest.mark.parametrize(("answers", "code"), [
    ({"confirm_kek": False}, "kek-rejected"),
    ({"confirm_readback": False}, "readback-rejected"),
    ({"acknowledge": "Someone Else"}, "acknowledgement-refused"),
    ({"confirm_irreversible": "yes"}, "not-confirmed"),
])
def test_a_front_ends_refusal_is_journaled_by_the_engine(plan, token_store, answers, code):
    """The front end only answers; the engine turns the refusal into the step that failed."""
    operator = FrontEndOperator({**token_store.env, **PIN_ENV})
    for method, answer in answers.items():
        async def answer_with(*args, answer=answer):
            return answer
        setattr(operator, method, answer_with)
    with pytest.raises(StepFailed) as caught:
        asyncio.run(Engine(plan, operator, env={**token_store.env, **PIN_ENV}).run())
    assert caught.value.code == code
    last = json.loads((plan.ceremony_dir / "journal.jsonl").read_text().splitlines()[-1])
    assert (last["type"], last["data"]["code"]) == ("step-failed", code)
