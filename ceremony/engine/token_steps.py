"""The token's part of a ceremony: the lock, PINs, the final try, trusted staging, login, the
wrap self-test and the ceremony signer. A mixin of the Engine (ceremony.py), whose journal,
service, operator and state it uses; every PKCS#11 call goes through the HSM service.
"""

from __future__ import annotations

from ceremony.awaiting import off_loop
from ceremony.engine import decisions, steps
from ceremony.engine import events as ev
from ceremony.engine.token_session import log_in, stage_trusted
from ceremony.errors import VerificationError
from ceremony.hsm.module import find_module
from ceremony.hsm.service import HsmService
from ceremony.hsm.types import KeyRef
from ceremony.pins import check_source
from ceremony.plan.dry_run import label_taken
from ceremony.plan.model import PinSpec
from ceremony.readback import hex_groups, pgp_words
from ceremony.secret import SecretPin, join


class TokenSteps:
    """The Engine's token steps; `self` is the Engine."""

    async def _pin(self, spec: PinSpec, role: str) -> SecretPin:
        token = self.plan.hsm.token or self.plan.hsm.serial
        pins = [await self.operator.pin(who, source) for who, source in spec.askers(role, token)]
        return join(pins) if spec.split else pins[0]

    def _check_pin_sources(self) -> None:
        """A PIN source that cannot give its PIN (an unset variable, a missing or unsafe file,
        a closed descriptor) stops the run before anything is written; no PIN is read."""
        for who, source in self.plan.pin_askers():
            check_source(source, who, self.env)

    async def _confirm_keks(self) -> None:
        """Before any KEK is trusted or used, the administrator compares its fingerprint with
        the one noted online: a KEK file swapped on the way would receive every key. On resume,
        a KEK file that differs from any fingerprint the journal holds for it stops the run."""
        administrator = self.plan.with_role("administrator")[0].name
        for entry in self.plan.keks:
            self._check_kek_unchanged(entry)
            if entry.name in self.state.keks_confirmed:
                continue
            self._start(steps.kek_step(entry.name))
            digest = bytes.fromhex(entry.kek.fingerprint)
            decisions.kek_confirmed(await self.operator.confirm_kek(
                administrator, entry.name, entry.kek.kid.url, hex_groups(digest),
                pgp_words(digest)), administrator, entry.name)
            await self._journal_event(
                ev.KekConfirmed(entry.name, entry.kek.kid.url, entry.kek.fingerprint,
                                administrator, self.operator.scripted),
                f"KEK {entry.name} fingerprint confirmed against the online record")

    def _check_kek_unchanged(self, entry) -> None:
        journaled = [(1, self.state.genesis.keks.get(entry.name))]
        journaled += self.state.kek_fingerprints.get(entry.name, [])
        for line, fingerprint in journaled:
            if fingerprint is not None and fingerprint != entry.kek.fingerprint:
                raise VerificationError(
                    "kek-changed",
                    f"KEK {entry.name} file {entry.file} has fingerprint "
                    f"{entry.kek.fingerprint}, but journal line {line} holds {fingerprint} for it",
                    "The KEK file changed while the ceremony was interrupted and nothing was "
                    "wrapped to it: restore the file the ceremony started with (compare with the "
                    "paper log) and resume, or abort the ceremony",
                )

    async def _take_token(self) -> None:
        hsm = self.plan.hsm
        module = find_module(str(hsm.module) if hsm.module else None, self.env)
        self.service = service = await off_loop(HsmService, module, self.env)
        self.builder.token = await service.call(
            service.select, label=hsm.token, serial=hsm.serial)

    async def _select(self) -> None:
        info = self.builder.token
        await self._journal_event(ev.TokenSelected(**self.builder.token_json()),
                                  f"token {info.label} (serial {info.serial}) selected and locked")

    async def _login(self) -> None:
        await self._login_quietly()
        await self._journal_event(ev.LoggedIn(),
                                  f"user logged in to token {self.builder.token.label}")

    async def _login_quietly(self) -> None:
        self._start(steps.LOGIN)
        pin = await self._pin(self.plan.hsm.user_pin, "user")
        token = self.builder.token.label
        await log_in(self.service, self.operator, token, pin, self._final_try_confirmed)

    async def _final_try_confirmed(self, role: str) -> None:
        await self._journal_event(ev.FinalTryConfirmed(role, self.operator.scripted),
                                  f"final {role} PIN try on token "
                                  f"{self.builder.token.label} confirmed")

    async def _open_token(self) -> None:
        await self._select()
        service = self.service
        exports = [k for k in self.plan.keys if k.name not in self.state.exported]
        if self.plan.hsm.wrap_policy == "trusted" and exports:
            self._start(steps.TRUSTED)
            so_pin = await self._pin(self.plan.hsm.so_pin, "SO")
            keks = {entry.kek.fingerprint: entry.kek for entry in self.plan.keks}
            await stage_trusted(service, self.operator, self.builder.token.label, so_pin,
                                list(keks.values()), len(exports), self._final_try_confirmed)
            await self._journal_event(
                ev.TrustedStaged(sorted(keks), len(exports)),
                f"SO staged {len(keks)} trusted KEK(s) and {len(exports)} ephemeral key(s) as "
                "session objects; SO logged out")
        await self._login()
        self._start(steps.SELF_TEST)
        self.builder.self_test = result = await service.call(service.self_test)
        await self._journal_event(
            ev.SelfTestPassed(result.kwp_mechanism, result.zero_padding, list(result.warnings)),
            f"wrap self-test passed with {result.kwp_mechanism}")
        for warning in result.warnings:
            await self._journal_event(ev.WarningGiven(), warning)
        await self._signer()

    async def _find_sealer(self) -> KeyRef | None:
        """The token's signer, checked to be the key resume verified the seals with; from here
        on every journal line is sealed."""
        service = self.service
        ref = await service.call(service.find_signer)
        if ref is None and self._seal_key is not None:
            raise VerificationError(
                "signer-missing", f"token {self.builder.token.label} shows a ceremony signer's "
                "public key but holds no signer private key",
                "Compare the token with the paper log before going on",
            )
        if ref is not None:
            public = (await service.call(service.facts, ref)).public_der
            if self._seal_key is not None and public != self._seal_key:
                raise VerificationError(
                    "signer-mismatch", f"the ceremony signer on token "
                    f"{self.builder.token.label} is not the key the journal's seals were checked "
                    "with", "Compare the token with the paper log before going on",
                )
            self._sealer = ref
        return ref

    async def _signer(self) -> None:
        self._start(steps.SIGNER)
        service = self.service
        ref = await self._find_sealer()
        derived = self.state.signer_id
        if ref is None:
            await self._journal_event(ev.SignerIntent(derived.hex()),
                                      "creating the ceremony signer (EC P-384)")
            ref = await service.call(service.create_signer, derived)
            self._sealer = ref
        created = ref.key_id == derived
        facts = await service.call(service.facts, ref)
        self.builder.set_signer(facts, created)
        if self.state.signer_ready:
            await self._seal(self.journal.last)
            return
        if created:
            message = (f"created the ceremony signer; write its fingerprint in the paper log: "
                       f"{hex_groups(bytes.fromhex(facts.fingerprint))}")
        else:
            message = f"ceremony signer {facts.fingerprint[:16]}... found on the token"
        await self._journal_event(ev.SignerReady(ref.key_id.hex(), facts.fingerprint, created),
                                  message)

    async def _labels_free(self) -> None:
        """A key label already on the token stops the run before its directory is made.

        Without a login only public objects are visible (an RSA or EC key's public half, not
        an AES key); generation checks every label again after login."""
        service = self.service
        for key in self.plan.keys:
            if not await service.call(service.label_free, key.label):
                raise label_taken(self.builder.token.label, key.name, key.label)
