"""HsmService: owns the loaded module, the selected token, the login session and every handle.

Every public method runs its body on the one HSM thread (thread.py), so front ends may call
them from any thread; async callers use `await service.call(service.method, ...)`. One login
session stays open for the whole ceremony: login is per process and per token, and closing
the session that logged in logs out all sessions (DESIGN.md section 5). PIN attempts are made
on read/write sessions, because a failed login on a read-only session leaves a session behind
that blocks a later SO login.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path

import pkcs11
from pkcs11 import TokenFlag
from pkcs11.exceptions import PinIncorrect, PinLenRange, PinLocked

from ceremony.errors import BadInputError, TokenError
from ceremony.hsm import keys, signing, thread, wrap
from ceremony.hsm.lock import TokenLock, lock_dir
from ceremony.hsm.templates import Policy
from ceremony.hsm.tokens import decode_flags, serial_text, token_info
from ceremony.hsm.translate import translated
from ceremony.hsm.types import KeyFacts, KeyRef, SelfTestResult, TokenInfo
from ceremony.keyspec import KeySpec
from ceremony.pins import Pinpad

ROLE_FLAGS = {
    "user": (TokenFlag.USER_PIN_FINAL_TRY, TokenFlag.USER_PIN_LOCKED, TokenFlag.USER_PIN_COUNT_LOW),
    "SO": (TokenFlag.SO_PIN_FINAL_TRY, TokenFlag.SO_PIN_LOCKED, TokenFlag.SO_PIN_COUNT_LOW),
}


def hsm_method(fn):
    """Run the decorated method's body on the HSM thread."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return thread.run(fn, *args, **kwargs)

    return wrapper


def _load(module: Path):
    with translated(f"loading PKCS#11 module {module}"):
        return pkcs11.lib(str(module))


@hsm_method
def reinitialize_module(module: Path) -> None:
    """Finalize and initialise the module again, so it rereads its configuration.

    Used when the token store changes under a running process (tests, the rehearsal set-up);
    every session of every HsmService on this module ends.
    """
    _load(module).reinitialize()


class HsmService:
    def __init__(self, module: Path, env: Mapping[str, str] = os.environ) -> None:
        self.module = Path(module)
        self._env = env
        self._lib = thread.run(_load, self.module)
        self._token = None
        self._lock: TokenLock | None = None
        self._session = None
        self._staged: _Staged | None = None
        self._kwp = None

    async def call(self, method, *args, **kwargs):
        """Await one of this service's methods without blocking the event loop."""
        return await thread.call(method, *args, **kwargs)

    # -- tokens -------------------------------------------------------------------------------

    def _initialized_tokens(self) -> list:
        with translated(f"listing the tokens of {self.module}"):
            found = []
            for slot in self._lib.get_slots(token_present=True):
                token = slot.get_token()
                if token.flags & TokenFlag.TOKEN_INITIALIZED:
                    found.append(token)
            return found

    @hsm_method
    def tokens(self) -> list[TokenInfo]:
        with translated(f"reading the tokens of {self.module}"):
            return [token_info(self._lib, t) for t in self._initialized_tokens()]

    @hsm_method
    def select(self, label: str | None = None, serial: str | None = None) -> TokenInfo:
        """Choose the token by label or serial (never slot) and take its lock."""
        if (label is None) == (serial is None):
            raise BadInputError(
                "token-selector", "give exactly one of a token label or a token serial",
                "Use --token LABEL or --serial SERIAL",
            )
        present = self._initialized_tokens()
        matches = [
            t for t in present
            if (label is not None and t.label == label)
            or (serial is not None and serial_text(t) == serial)
        ]
        wanted = f"labelled {label!r}" if label is not None else f"with serial {serial!r}"
        listing = ", ".join(f"{t.label!r} (serial {serial_text(t)})" for t in present) or "none"
        if not matches:
            raise TokenError(
                "token-not-found", f"no token {wanted}; tokens present: {listing}",
                "Check the label or serial, or initialise the token first",
            )
        if len(matches) > 1:
            raise TokenError(
                "token-ambiguous", f"{len(matches)} tokens {wanted}; tokens present: {listing}",
                "Select the token by its serial instead",
            )
        token = matches[0]
        self.close()  # a new selection starts over: no session, staging or lock carries over
        lock = TokenLock(self.module, serial_text(token), token.label, lock_dir(self._env))
        lock.acquire()
        self._token, self._lock = token, lock
        return token_info(self._lib, token)

    @property
    def token_label(self) -> str:
        return self._require_token().label

    def _require_token(self):
        if self._token is None:
            raise RuntimeError("no token selected")
        return self._token

    def _fresh_token(self):
        """Token flags are a snapshot: re-read the token to see PIN warnings."""
        wanted = serial_text(self._require_token())
        for token in self._initialized_tokens():
            if serial_text(token) == wanted:
                return token
        raise TokenError(
            "token-not-found", f"token {self.token_label} (serial {wanted}) is no longer present",
            "Reconnect the HSM and start again",
        )

    @hsm_method
    def info(self) -> TokenInfo:
        with translated(f"reading token {self.token_label}"):
            self._token = self._fresh_token()
            return token_info(self._lib, self._token)

    # -- login --------------------------------------------------------------------------------

    @hsm_method
    def login(self, pin, *, so: bool = False, confirm_final_try: bool = False) -> None:
        """Log in as user or SO with a SecretPin, or PINPAD for the protected auth path."""
        role = "SO" if so else "user"
        final_try, locked, _ = ROLE_FLAGS[role]
        label = self.token_label
        flags = int(self._fresh_token().flags)
        if flags & locked:
            raise TokenError(
                "pin-locked", f"the {role} PIN of token {label} is locked",
                "The security officer must unlock or reset it before the ceremony",
            )
        if flags & final_try and not confirm_final_try:
            raise TokenError(
                "pin-final-try",
                f"token {label} reports the {role} PIN's final try; no PIN was tried",
                "One more wrong PIN locks it: confirm the final try explicitly once the PIN "
                "is certain",
            )
        if self._session is not None:
            raise TokenError(
                "already-logged-in", f"token {label} already has a login session",
                "Log out first",
            )
        value = pkcs11.PROTECTED_AUTH if isinstance(pin, Pinpad) else pin.reveal()
        kwargs = {"so_pin": value} if so else {"user_pin": value}
        with translated(f"{role} login to token {label}"):
            try:
                self._session = self._require_token().open(rw=True, **kwargs)
            except PinIncorrect:
                raise self._wrong_pin(role) from None
            except PinLenRange:
                raise TokenError(
                    "pin-length", f"the {role} PIN has a length token {label} does not accept",
                    "Check the PIN source",
                ) from None
            except PinLocked:
                raise TokenError(
                    "pin-locked", f"the {role} PIN of token {label} is locked",
                    "The security officer must unlock or reset it before the ceremony",
                ) from None

    def _wrong_pin(self, role: str) -> TokenError:
        warnings = [
            name for name in decode_flags(int(self._fresh_token().flags))
            if name.startswith(f"{role} PIN") and "initialised" not in name
        ]
        state = ", ".join(warnings) if warnings else "no retry warnings"
        return TokenError(
            "pin-incorrect", f"wrong {role} PIN for token {self.token_label} (token reports: "
            f"{state})",
            "Check the PIN source; every wrong try counts against the token's retry limit",
        )

    @hsm_method
    def logout(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            with translated(f"logging out of token {self.token_label}"):
                session.close()

    def _require_session(self):
        if self._session is None:
            raise TokenError(
                "not-logged-in", f"token {self.token_label} has no login session",
                "Log in before this step",
            )
        return self._session

    # -- keys ---------------------------------------------------------------------------------

    @hsm_method
    def new_key_id(self) -> bytes:
        with translated(f"drawing a random CKA_ID on token {self.token_label}"):
            return keys.new_key_id(self._require_session())

    @hsm_method
    def generate(
        self, spec: KeySpec, label: str, policy: Policy, key_id: bytes | None = None,
    ) -> KeyRef:
        with translated(f"generating {spec} key {label!r} on token {self.token_label}"):
            return keys.generate(
                self._require_session(), spec, label, policy, self.token_label, key_id,
            )

    @hsm_method
    def import_key(
        self, spec: KeySpec, label: str, policy: Policy, key_id: bytes, unwrapping_label: str,
        blob: bytes,
    ) -> KeyRef:
        """Import an RSA key-transfer blob; the KWP mechanism is the self-tested one."""
        if self._kwp is None:
            raise TokenError(
                "self-test-missing", "no wrap self-test has passed in this session",
                "Run the self-test before importing",
            )
        with translated(f"importing {spec} key {label!r} on token {self.token_label}"):
            ref = KeyRef(label=label, key_id=key_id, spec=spec)
            keys.import_wrapped(self._require_session(), ref, policy, self.token_label,
                                keys.WrappedKey(blob, unwrapping_label, self._kwp))
            return ref

    @hsm_method
    def adopt(self, ref: KeyRef) -> None:
        """Check a key this ceremony made before an interruption (see keys.adopt)."""
        with translated(f"checking key {ref.label!r} on token {self.token_label}"):
            keys.adopt(self._require_session(), ref, self.token_label)

    @hsm_method
    def key_present(self, ref: KeyRef) -> bool:
        """True when the token holds the key's private or secret object with its CKA_ID; an
        object with that CKA_ID but another label or class is refused (keys.own_objects)."""
        with translated(f"looking for key {ref.label!r} on token {self.token_label}"):
            found = keys.own_objects(self._require_session(), ref, self.token_label)
            return any(obj[pkcs11.Attribute.CLASS] == keys.object_class(ref) for obj in found)

    @hsm_method
    def destroy(self, ref: KeyRef) -> int:
        """Destroy the key's objects (keys.own_objects: nothing unless all are the key's own);
        return how many there were."""
        with translated(f"destroying key {ref.label!r} on token {self.token_label}"):
            found = keys.own_objects(self._require_session(), ref, self.token_label)
            for obj in found:
                obj.destroy()
            return len(found)

    @hsm_method
    def find_signer(self) -> KeyRef | None:
        with translated(f"looking for the ceremony signer on token {self.token_label}"):
            return signing.find_signer(self._require_session(), self.token_label)

    @hsm_method
    def signer_public(self) -> bytes | None:
        """The ceremony signer's public key (SubjectPublicKeyInfo DER), or None; no login needed:
        resume checks the journal's seals with it before any PIN is asked."""
        with translated(f"looking for the ceremony signer on token {self.token_label}"):
            if self._session is not None:
                return signing.signer_public(self._session, self.token_label)
            with self._require_token().open() as public:
                return signing.signer_public(public, self.token_label)

    @hsm_method
    def create_signer(self, key_id: bytes) -> KeyRef:
        with translated(f"creating the ceremony signer on token {self.token_label}"):
            return keys.generate(
                self._require_session(), signing.SIGNER_SPEC, signing.SIGNER_LABEL,
                Policy.SIGNER, self.token_label, key_id,
            )

    @hsm_method
    def sign(self, ref: KeyRef, data: bytes) -> bytes:
        """DER ECDSA signature over SHA-384 of `data`, made by `ref` inside the token."""
        with translated(f"signing with key {ref.label!r} on token {self.token_label}"):
            return signing.sign(self._require_session(), ref, data, self.token_label)

    @hsm_method
    def facts(self, ref: KeyRef) -> KeyFacts:
        with translated(f"reading key {ref.label!r} on token {self.token_label}"):
            return keys.facts(self._require_session(), ref, self.token_label)

    @hsm_method
    def label_free(self, label: str) -> bool:
        """True when no object visible now carries `label`.

        Without a login only public objects are visible (an RSA or EC key's public half, not
        an AES key); a dry run says so, and generation checks again after login.
        """
        template = {pkcs11.Attribute.LABEL: label}
        with translated(f"searching token {self.token_label}"):
            if self._session is not None:
                return not keys.find_objects(self._session, template)
            with self._require_token().open() as public:
                return not keys.find_objects(public, template)

    @hsm_method
    def find_key(self, label: str) -> KeyRef:
        """The one private or secret key labelled `label`, with its type read from the token."""
        with translated(f"looking up key {label!r} on token {self.token_label}"):
            return keys.find_by_label(self._require_session(), label, self.token_label)

    @hsm_method
    def in_session(self, fn, *args):
        """Run `fn(session, *args)` in the login session; for hsm-internal roles like vault.py."""
        with translated(f"operation on token {self.token_label}"):
            return fn(self._require_session(), *args)

    # -- wrapping -----------------------------------------------------------------------------

    @hsm_method
    def stage_trusted_wrapping(
        self, keks, count: int, so_pin, confirm_final_try: bool = False,
    ) -> None:
        """As SO, create trusted KEK objects and `count` trusted ephemeral keys.

        Only the SO may set CKA_TRUSTED, only on public objects, and public token objects are
        stored unencrypted; so they are session objects of a public R/W session that stays open
        until close(): open it, log the SO in on a second session, create, log the SO out
        (DESIGN.md section 5). Must run before the user logs in; `keks` have `.public_key` and
        `.fingerprint`.
        """
        if self._session is not None:
            raise TokenError(
                "trusted-staging-order", "trusted wrapping keys must be staged before login",
                "Stage with the SO PIN first, then log the user in",
            )
        label = self.token_label
        with translated(f"staging trusted wrapping keys on token {label}"):
            public = self._require_token().open(rw=True)
            try:
                self.login(so_pin, so=True, confirm_final_try=confirm_final_try)
                try:
                    made = {k.fingerprint: wrap.create_kek(public, k.public_key, True)
                            for k in keks}
                    ephemerals = [wrap.create_ephemeral(public, True) for _ in range(count)]
                finally:
                    self.logout()
            except BaseException:
                public.close()
                raise
        self._staged = _Staged(public, made, ephemerals)

    @hsm_method
    def self_test(self) -> SelfTestResult:
        """Pick the KWP mechanism and prove it with a known-answer test; needed before wrap."""
        label = self.token_label
        with translated(f"wrap self-test on token {label}"):
            kwp = wrap.pick_kwp(self._require_token(), label)
            result = wrap.self_test(self._require_session(), kwp, label)
        self._kwp = kwp
        return result

    @hsm_method
    def wrap(self, ref: KeyRef, kek) -> bytes:
        """The BYOK ciphertext of `ref` under `kek`, made inside the HSM."""
        if self._kwp is None:
            raise TokenError(
                "self-test-missing", "no wrap self-test has passed in this session",
                "Run the self-test before exporting",
            )
        session = self._require_session()
        with translated(f"wrapping key {ref.label!r} on token {self.token_label}"):
            target = keys.find_one(session, ref, keys.object_class(ref), self.token_label)
            if self._staged is not None:
                kek_object, ephemeral = self._staged.take(kek.fingerprint, self.token_label)
                return wrap.wrap_once(session, self._kwp, kek_object, target, ephemeral)
            kek_object = wrap.create_kek(session, kek.public_key, trusted=False)
            try:
                return wrap.wrap_once(session, self._kwp, kek_object, target)
            finally:
                kek_object.destroy()

    # -- end ----------------------------------------------------------------------------------

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @hsm_method
    def close(self) -> None:
        """Log out, drop staged session objects, release the token; safe to call twice."""
        try:
            self.logout()
        finally:
            staged, self._staged = self._staged, None
            try:
                if staged is not None:
                    staged.session.close()
            finally:
                self._token = None
                self._kwp = None
                self._release()

    def __enter__(self) -> HsmService:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Staged:
    """Trusted KEK objects and unused ephemeral keys living in one public session."""

    def __init__(self, session, keks: dict, ephemerals: list) -> None:
        self.session = session
        self.keks = keks
        self.ephemerals = ephemerals

    def take(self, fingerprint: str, token_label: str):
        if fingerprint not in self.keks or not self.ephemerals:
            missing = "ephemeral key" if fingerprint in self.keks else "KEK with this fingerprint"
            raise TokenError(
                "trusted-staging-exhausted",
                f"token {token_label} has no staged trusted {missing} left",
                "Stage one trusted KEK per vault and one ephemeral key per export",
            )
        return self.keks[fingerprint], self.ephemerals.pop()
