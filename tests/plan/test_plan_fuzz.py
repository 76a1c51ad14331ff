"""Generated plans never crash the validator: the answer is a Plan or a PlanError, never more.

Plans start from the valid base and take random edits at known and unknown field paths, with
values of every TOML type, plausible ones (sources, feature ids, sizes) and PIN-like ones.
A PIN-like value under a PIN-named key is never shown in the problems.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceremony.errors import BadInputError
from ceremony.plan.load import load_plan
from ceremony.plan.model import Plan, PlanError
from tests.plan.test_plan import KID, base_plan, dump_toml, edit, write_plan

FIELDS = [
    "ceremony.id", "ceremony.purpose", "ceremony.workspaces", "ceremony.previous_record",
    "participant[1].name", "participant[2].role", "participant[3].role", "participant[4].name",
    "hsm.module", "hsm.token", "hsm.serial", "hsm.wrap_policy", "hsm.user_pin", "hsm.so_pin",
    "kek[1].name", "kek[1].file", "kek[1].kid", "kek[1].json",
    "key[1].name", "key[1].label", "key[1].origin", "key[1].source", "key[1].unwrap_key",
    "key[1].type", "key[1].size", "key[1].curve", "key[1].kek", "key[1].features",
    "key[2].workspaces", "key[2].azure_name", "key[2].key_ops", "key[3].after_export",
    "key[3].type", "key[3].size", "output.directory",
    "ceremony", "participant", "hsm", "kek", "key", "output",
    "extra", "hsm.pin", "key[2].so_pin",
]
PLAUSIBLE = st.sampled_from([
    "prompt", "pinpad", "fd:3", "env:X", "file:pin.txt", "keyring:svc/user", "kek.pem", ".",
    "rsa", "ec", "aes", "P-256", "generate", "import", "keep", "destroy", "trusted",
    "extractable", "custodian", "administrator", "witness", "Cid", "Cora", "vault", "ws-a",
    "managed-services", "dbfs-root", "wrapKey", "sign", KID, "", "\x00", "a\nb", "../x", 2048,
    256,
    -1, 0, 2**63 - 1, 1.5, True,
])
SCALARS = st.one_of(
    PLAUSIBLE, st.text(max_size=20), st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False), st.booleans(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["parts", "custodian", "source", "name", "pin", "x"]),
                        inner, max_size=4),
    ),
    max_leaves=8,
)
PINS = st.from_regex(r"\A[0-9]{6,10}\Z")


def check(text_or_plan) -> Plan | PlanError:
    with tempfile.TemporaryDirectory() as directory:
        path = write_plan(Path(directory), text_or_plan)
        try:
            return load_plan(path)
        except PlanError as error:
            assert error.problems
            assert all(p and p.isprintable() for p in error.problems)
            return error
        except BadInputError as error:  # the one file-level refusal text can reach
            assert error.code == "plan-bom" and str(text_or_plan).startswith("\ufeff")
            return error


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(FIELDS), VALUES), max_size=6))
def test_edited_plans_load_or_fail_with_problems(edits):
    data = base_plan()
    for path, value in edits:
        # An earlier edit may have replaced the table this path leads through.
        with contextlib.suppress(KeyError, IndexError, TypeError):
            edit(data, path, value)
    result = check(data)
    if isinstance(result, Plan):
        assert result.keys and result.ceremony.workspaces


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_loads_or_fails_with_problems(text):
    check(text)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["hsm.user_pin", "hsm.so_pin", "hsm.pin", "ceremony.user_pin",
                        "key[1].pin", "pin"]), PINS)
def test_a_pin_written_into_the_plan_is_refused_and_never_shown(path, pin):
    result = check(edit(base_plan(), path, pin))
    assert isinstance(result, PlanError)
    assert any(p.startswith(f"{path}: is not a PIN source") for p in result.problems)
    assert pin not in result.line().replace(str(result.path.parent), "")


def test_dump_toml_round_trips_the_base_plan():
    import tomllib

    assert tomllib.loads(dump_toml(base_plan())) == base_plan()
