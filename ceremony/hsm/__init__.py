"""The HSM boundary: every python-pkcs11 call in the project lives in this package.

Callers get plain values (types.py: TokenInfo, KeyRef, KeyFacts, SelfTestResult) and
CeremonyErrors, never pkcs11 objects or exceptions, and every call runs on the one HSM thread
(thread.py). The front door is service.py's HsmService; importing this package alone, or
types.py, loads no PKCS#11 code.
"""
