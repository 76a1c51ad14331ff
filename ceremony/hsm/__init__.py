"""The HSM boundary: every python-pkcs11 call in the project lives in this package.

Callers get plain dataclasses (TokenInfo, KeyRef, KeyFacts) and CeremonyErrors, never
pkcs11 objects or exceptions, and every call runs on the one HSM thread (thread.py).
"""

from ceremony.hsm.service import HsmService

__all__ = ["HsmService"]
