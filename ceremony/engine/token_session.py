"""Logging in and staging trusted wrapping, for every command that needs the token's PINs.

The ceremony engine (token_steps.py) and `ceremony byok export` log in through these, so both
ask for PINs through their Operator and, at a token's final PIN try, both ask a person to type
Yes before it is spent (a scripted operator refuses and says how to confirm it instead). They
journal nothing themselves: the engine passes `confirmed`, called once a person has confirmed a
final try and before it is spent, to journal the confirmation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ceremony.engine import decisions
from ceremony.engine.operator import Operator
from ceremony.errors import TokenError
from ceremony.hsm.service import HsmService

Confirmed = Callable[[str], Awaitable[None]]


async def _nothing(role: str) -> None:
    return None


async def log_in(service: HsmService, operator: Operator, token: str, pin,
                 confirmed: Confirmed = _nothing) -> None:
    """Log the user in with `pin`, a person confirming the final try if it comes to that."""
    await _final_try_aware(operator, "user", token, confirmed, lambda confirm: service.call(
        service.login, pin, confirm_final_try=confirm))


async def stage_trusted(service: HsmService, operator: Operator, token: str, so_pin, keks,
                        count: int, confirmed: Confirmed = _nothing) -> None:
    """Stage the trusted KEKs and `count` ephemeral keys with the SO PIN, likewise."""
    await _final_try_aware(operator, "SO", token, confirmed, lambda confirm: service.call(
        service.stage_trusted_wrapping, keks, count, so_pin, confirm_final_try=confirm))


async def _final_try_aware(operator: Operator, role: str, token: str, confirmed: Confirmed,
                           attempt) -> None:
    try:
        await attempt(False)
    except TokenError as error:
        if error.code != "pin-final-try":
            raise
        decisions.final_try_confirmed(await operator.confirm_final_try(role, token), role,
                                      token, error, operator)
        await confirmed(role)
        await attempt(True)
