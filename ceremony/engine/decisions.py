"""What the engine makes of an Operator's answers: each refusal, as the error that stops the run.

Operators only return answers (operator.py); these functions are the one place that turns a
"no", a wrong name or anything but the typed Yes into the StepFailed the engine journals, so
the terminal, the wizard and a scripted run stop with the same code and the same words.
"""

from __future__ import annotations

from ceremony.engine.operator import YES, Operator
from ceremony.errors import StepFailed, TokenError


def kek_confirmed(answer: bool, administrator: str, name: str) -> None:
    if answer is not True:
        raise StepFailed(
            "kek-rejected", f"{administrator} did not confirm the fingerprint of KEK {name}",
            "Do not use this KEK file: fetch the KEK again from the vault and compare",
        )


def readback_confirmed(answer: bool, custodian: str, key: str) -> None:
    if answer is not True:
        raise StepFailed(
            "readback-rejected", f"{custodian} did not confirm the fingerprint of key {key}",
            "Stop the ceremony; `ceremony abort DIR` destroys the keys it created",
        )


def signed_off(typed: str, participant: str, role: str) -> None:
    if typed.strip() != participant:
        raise StepFailed(
            "acknowledgement-refused", f"{participant} did not sign off ({role})",
            "The ceremony stops without a record; resume it when everyone agrees",
        )


def irreversible_confirmed(typed: str, action: str) -> None:
    if typed.strip() != YES:
        raise StepFailed(
            "not-confirmed", f"not confirmed: {action}",
            "Nothing irreversible was done; run again when ready",
        )


def final_try_confirmed(typed: str, role: str, token: str, error: TokenError,
                        operator: Operator) -> None:
    """Only a person spends a token's last PIN try: a scripted run refuses (one wrong
    scripted PIN would lock the token), saying how a person can confirm it instead."""
    if operator.scripted:
        raise TokenError(
            error.code, error.message,
            f"A scripted run never spends the final try; {operator.to_confirm}",
        )
    irreversible_confirmed(typed, final_try_action(role, token))


def final_try_action(role: str, token: str) -> str:
    return f"Token {token} allows one more {role} PIN try; a wrong PIN now locks it"
