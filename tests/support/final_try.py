"""A token at its user PIN's final try: a state SoftHSM never reaches (it never sets
USER_PIN_FINAL_TRY), so the one stand-in in these tests reports that flag on the real token."""

from __future__ import annotations

from pkcs11 import TokenFlag

from ceremony.hsm.service import HsmService


class FinalTryToken:
    def __init__(self, real):
        self._real = real
        self.flags = int(real.flags) | TokenFlag.USER_PIN_FINAL_TRY

    def __getattr__(self, name):
        return getattr(self._real, name)


def pretend_final_try(monkeypatch) -> None:
    """From now on every token the services open reports the user PIN's final try."""
    real = HsmService._fresh_token
    monkeypatch.setattr(HsmService, "_fresh_token", lambda self: FinalTryToken(real(self)))
