"""The ceremony engine: runs a checked plan step by step, journals every step, asks an Operator.

One engine serves every front end: it awaits each HSM call on the HSM thread and each human
decision from its Operator, and reports progress as Events; it never prompts and never touches
a widget. Every step is journaled before the next begins, and a key's CKA_ID is journaled
before the key is created, so a crash at any point leaves every HSM object accounted for and
`resume` can finish the ceremony from the journal (DESIGN.md sections 1-3).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ceremony import __version__
from ceremony.databricks.catalog import load_catalog
from ceremony.digests import sha256_hex
from ceremony.documents.report import report_markdown
from ceremony.documents.runbook import runbook_markdown
from ceremony.engine import decisions
from ceremony.engine.events import Event, Kind
from ceremony.engine.export import export_key
from ceremony.engine.operator import Operator
from ceremony.engine.replay import CeremonyState, genesis_of, read_state
from ceremony.errors import BadInputError, CeremonyError, TokenError, VerificationError
from ceremony.files import (
    MiB,
    fsync_dir,
    output_error,
    read_file,
    read_input,
    write_all_exclusive,
    write_exclusive,
)
from ceremony.hsm.module import find_module
from ceremony.hsm.service import HsmService
from ceremony.hsm.templates import Policy
from ceremony.hsm.types import KeyFacts, KeyRef
from ceremony.journal import Entry, Journal
from ceremony.layout import REPORT, RUNBOOK, CeremonyDir
from ceremony.pins import check_source
from ceremony.plan.dry_run import check_output, label_taken
from ceremony.plan.model import KeyEntry, PinSpec, Plan
from ceremony.readback import hex_groups, pgp_words
from ceremony.record.build import RecordBuilder
from ceremony.record.canonical import canonical, signer_pem
from ceremony.record.verify import verify_ceremony
from ceremony.seals import seal_data
from ceremony.secret import SecretPin, join

# Tests only: after journal line N, send this process SIGKILL ("N"), or the signal named
# ("N:SIGTERM", "N:SIGINT"), to prove that every interruption ends resumable.
KILL_HOOK = "CMK_CEREMONY_KILL_AFTER_SEQ"
# A key-transfer file holds one wrapped key: a few KiB even for RSA 4096.
KEY_TRANSFER_LIMIT = MiB


@dataclass(frozen=True)
class Outcome:
    directory: Path
    record_sha256: str
    signer_fingerprint: str
    signer_created: bool
    journal_lines: int  # the journal's last line and its SHA-256: the record cannot sign
    journal_head: str  # the lines after the ones it covers, so these go in the paper log


class Engine:
    def __init__(
        self, plan: Plan, operator: Operator, emit: Callable[[Event], None] | None = None,
        env: Mapping[str, str] = os.environ, directory: Path | None = None,
    ) -> None:
        """`directory` is the ceremony directory to resume or abort (default: the plan's)."""
        self.plan = plan
        self.operator = operator
        self.emit = emit or (lambda event: None)
        self.env = env
        self.directory = Path(directory) if directory is not None else plan.ceremony_dir
        self.files = CeremonyDir(self.directory)
        self.journal: Journal | None = None
        self.service: HsmService | None = None
        self.state: CeremonyState | None = None
        self.record = RecordBuilder(plan, operator)
        self._sealer: KeyRef | None = None  # the signer, once ready: every line is then sealed
        self._seal_key: bytes | None = None  # the signer public key resume checked seals with
        self._doing = "starting"  # the step in progress, named when an interruption stops it

    # -- journal ------------------------------------------------------------------------------

    async def log(self, kind: Kind, message: str, **data) -> Entry:
        """Journal one line (fsync'd), tell the front end, and seal it once the signer is ready."""
        entry = self._append(kind, message, data)
        self.emit(Event.make(kind, message, entry.seq, **data))
        if self._sealer is not None:
            await self._seal(entry)
        return entry

    def _append(self, kind: Kind, message: str, data: dict) -> Entry:
        entry = self.journal.append(str(kind), {"message": message, **data})
        seq, _, name = self.env.get(KILL_HOOK, "").partition(":")
        if seq == str(entry.seq):
            os.kill(os.getpid(), signal.Signals[name or "SIGKILL"])
        return entry

    async def _seal(self, entry: Entry) -> None:
        """The signer's signature over `entry`'s bytes, inside the HSM, as the next line (seals.py);
        seal lines are journal-only: front ends are not told of them."""
        signature = await self.service.call(self.service.sign, self._sealer, entry.raw)
        self._append(Kind.SEALED, f"line {entry.seq} sealed by the ceremony signer",
                     seal_data(entry, signature))

    # -- entry points -------------------------------------------------------------------------
    # Each takes the token lock before it touches the ceremony directory: the lock is what
    # keeps two processes (a run and an abort, two resumes) from writing one journal.

    async def run(self) -> Outcome:
        """A new ceremony: take the token, make its directory, then every step.

        A token that is missing or in use, a key label already on it, or a plan changed since
        it was checked, leaves nothing on disk.
        """
        self._check_pin_sources()
        await self._take_token()
        with self._closing_on_error():
            await self._labels_free()
            _, unusable = check_output(self.directory)
            if unusable is not None:
                raise unusable
            self._create_directory()
        return await self._steps(resuming=False)

    async def resume(self) -> Outcome:
        """Finish an interrupted ceremony from its journal."""
        await self._take_token()
        with self._closing_on_error():
            await self._read_state(aborting=False)
        return await self._steps(resuming=True)

    async def abort(self) -> int:
        """Destroy the target keys this ceremony created, once a person confirms; journal it.

        The keys are found by the CKA_IDs the ceremony derives (identity.py), never by what the
        journal names, and the confirmation shows each one's label and fingerprint. The BYOK
        packages are deleted too, so none of the aborted keys can be imported from this
        directory. The PIN and the confirmation come before the abort is journaled, so a wrong
        PIN or a "no" leaves the ceremony resumable. The ceremony signer stays: it holds no
        customer data and signs later ceremonies.
        """
        await self._take_token()
        try:
            await self._read_state(aborting=True)
            await self._login_quietly()
            await self._find_sealer()
            doomed = await self._present_keys()
            packages = self.files.packages()
            if doomed or packages:
                action = _abort_question(self.record.token.label, doomed, packages,
                                         self.directory)
                decisions.irreversible_confirmed(
                    await self.operator.confirm_irreversible(action), action)
            if not self.state.aborted:
                await self.log(Kind.ABORTED, f"ceremony {self.plan.ceremony.id} aborted on "
                               f"token {self.record.token.label}",
                               keys=[key.name for key, _ in doomed],
                               scripted=self.operator.scripted)
            for key, facts in doomed:
                await self._destroy_now(key, facts.ref)
            for path in packages:
                await self._withdraw(path)
            return len(doomed)
        finally:
            self._close()

    # -- the steps ----------------------------------------------------------------------------

    @contextmanager
    def _closing_on_error(self):
        try:
            yield
        except BaseException:
            self._close()
            raise

    def _close(self) -> None:
        try:
            if self.service is not None:
                self.service.close()
        finally:
            if self.journal is not None:
                self.journal.close()

    async def _read_state(self, aborting: bool) -> None:
        """The journal's state, its seals checked with the token's signer (no PIN needed)."""
        service = self.service
        self._seal_key = await service.call(service.signer_public)
        self.state, torn = read_state(self.directory, self.plan, self._seal_key,
                                      aborting=aborting)
        self.journal = Journal.open_existing(self.files.journal,
                                             drop_torn_tail=torn is not None)

    async def _steps(self, resuming: bool) -> Outcome:
        try:
            if resuming:
                await self._log_resumed()
            else:
                await self._log_started()
            return await self._all_steps()
        except CeremonyError as error:
            self._journal_stop(Kind.STEP_FAILED, f"stopped: {error.message}", code=error.code,
                               error=error.message, hint=error.hint)
            raise
        except (asyncio.CancelledError, KeyboardInterrupt) as stop:
            cause = stop.args[0] if isinstance(stop, asyncio.CancelledError) and stop.args \
                else "SIGINT"
            self._journal_stop(Kind.INTERRUPTED, f"interrupted ({cause}) while {self._doing}",
                               step=self._doing, cause=cause)
            raise
        finally:
            self._close()

    def _journal_stop(self, kind: Kind, message: str, **data) -> None:
        """Journal why the run stopped, unsealed (nothing is done on its strength), when the
        journal can still take a line; the error that stopped the run is what gets reported."""
        if self.journal is None or self.journal.closed:
            return
        try:
            self.emit(Event.make(kind, message, self._append(kind, message, data).seq, **data))
        except CeremonyError:
            pass

    async def _log_started(self) -> None:
        """The first line: what identifies the ceremony (identity.py) and what resume checks."""
        plan = self.plan
        entry = await self.log(
            Kind.CEREMONY_STARTED, f"ceremony {plan.ceremony.id} started",
            ceremony=plan.ceremony.id, plan=str(plan.path.resolve()), plan_sha256=plan.sha256,
            directory=str(self.directory.resolve()),
            keks={kek.name: kek.kek.fingerprint for kek in plan.keks},
            tool_version=__version__, operator=self.operator.kind)
        self.state = CeremonyState(genesis_of(entry, self.journal.path))

    async def _log_resumed(self) -> None:
        dropped = self.journal.dropped
        await self.log(Kind.RESUMED, f"ceremony {self.plan.ceremony.id} resumed",
                       operator=self.operator.kind, sealed_lines=self.state.sealed,
                       dropped_torn_line=dropped.data.decode(errors="replace") if dropped
                       else None)
        for path in self.state.debris(self.directory):
            path.unlink()
            await self.log(Kind.FILE_DISCARDED, f"discarded unfinished file {path.name}",
                           file=str(path.relative_to(self.directory)))

    async def _all_steps(self) -> Outcome:
        await self._confirm_keks()
        await self._open_token()
        for key in self.plan.keys:
            await self._key(key)
        self._doing = "collecting the sign-offs"
        await self._acknowledgements()
        for key in self.plan.keys:
            if key.after_export == "destroy":
                await self._destroy(key)
        return await self._finish()

    async def _labels_free(self) -> None:
        """A key label already on the token stops the run before its directory is made.

        Without a login only public objects are visible (an RSA or EC key's public half, not
        an AES key); generation checks every label again after login."""
        service = self.service
        for key in self.plan.keys:
            if not await service.call(service.label_free, key.label):
                raise label_taken(self.record.token.label, key.name, key.label)

    def _create_directory(self) -> None:
        """The directory, plan.toml and the journal, or, on any failure, nothing at all."""
        data = self._plan_bytes()
        try:
            self.directory.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise BadInputError(
                "output-exists", f"{self.directory} already exists",
                "A ceremony never writes into an existing directory; choose a new ceremony.id "
                "or output.directory, or resume it with `ceremony run --resume`",
            ) from None
        except OSError as error:
            raise output_error(self.directory.parent, error) from None
        try:
            self.files.keys.mkdir()
            write_exclusive(self.files.plan, data)
            self.journal = Journal.create(self.files.journal)
        except BaseException as error:
            shutil.rmtree(self.directory, ignore_errors=True)  # made by this call, holds no more
            if isinstance(error, OSError):
                raise output_error(self.directory, error) from None
            raise

    def _plan_bytes(self) -> bytes:
        data = read_file(self.plan.path)
        if sha256_hex(data) != self.plan.sha256:
            raise BadInputError(
                "plan-changed", f"plan file {self.plan.path} changed after it was checked",
                "Check the plan again and start over",
            )
        return data

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
            self._doing = f"confirming KEK {entry.name}"
            self._check_kek_unchanged(entry)
            if entry.name in self.state.keks_confirmed:
                continue
            digest = bytes.fromhex(entry.kek.fingerprint)
            decisions.kek_confirmed(await self.operator.confirm_kek(
                administrator, entry.name, entry.kek.kid.url, hex_groups(digest),
                pgp_words(digest)), administrator, entry.name)
            await self.log(Kind.KEK_CONFIRMED, f"KEK {entry.name} fingerprint confirmed against "
                           "the online record", name=entry.name, kid=entry.kek.kid.url,
                           fingerprint=entry.kek.fingerprint, by=administrator,
                           scripted=self.operator.scripted)

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
        self.service = service = HsmService(module, self.env)
        self.record.token = await service.call(
            service.select, label=hsm.token, serial=hsm.serial)

    async def _select(self) -> None:
        info = self.record.token
        await self.log(Kind.TOKEN_SELECTED, f"token {info.label} (serial {info.serial}) "
                       "selected and locked", **self.record.token_json())

    async def _login(self) -> None:
        await self._login_quietly()
        await self.log(Kind.LOGGED_IN, f"user logged in to token {self.record.token.label}")

    async def _login_quietly(self) -> None:
        self._doing = "logging in"
        service = self.service
        pin = await self._pin(self.plan.hsm.user_pin, "user")
        await self._final_try_aware("user", lambda confirm: service.call(
            service.login, pin, confirm_final_try=confirm))

    async def _final_try_aware(self, role: str, attempt) -> None:
        """Run a login `attempt`; when the token reports the PIN's final try, ask a person
        before spending it (a scripted operator refuses), then try once more, confirmed."""
        try:
            await attempt(False)
        except TokenError as error:
            if error.code != "pin-final-try":
                raise
            token = self.record.token.label
            decisions.final_try_confirmed(await self.operator.confirm_final_try(role, token),
                                          role, token, error, self.operator.scripted)
            await self.log(Kind.FINAL_TRY_CONFIRMED, f"final {role} PIN try on token "
                           f"{self.record.token.label} confirmed", role=role,
                           scripted=self.operator.scripted)
            await attempt(True)

    async def _open_token(self) -> None:
        await self._select()
        service = self.service
        exports = [k for k in self.plan.keys if k.name not in self.state.exported]
        if self.plan.hsm.wrap_policy == "trusted" and exports:
            self._doing = "staging trusted wrapping with the SO PIN"
            so_pin = await self._pin(self.plan.hsm.so_pin, "SO")
            keks = {entry.kek.fingerprint: entry.kek for entry in self.plan.keks}
            await self._final_try_aware("SO", lambda confirm: service.call(
                service.stage_trusted_wrapping, list(keks.values()), len(exports), so_pin,
                confirm_final_try=confirm))
            await self.log(Kind.TRUSTED_STAGED, f"SO staged {len(keks)} trusted KEK(s) and "
                           f"{len(exports)} ephemeral key(s) as session objects; SO logged out",
                           keks=sorted(keks), ephemeral_keys=len(exports))
        await self._login()
        self._doing = "the wrap self-test"
        self.record.self_test = result = await service.call(service.self_test)
        await self.log(Kind.SELF_TEST, f"wrap self-test passed with {result.kwp_mechanism}",
                       kwp_mechanism=result.kwp_mechanism, zero_padding=result.zero_padding,
                       warnings=list(result.warnings))
        for warning in result.warnings:
            await self.log(Kind.WARNING, warning)
        await self._signer()

    async def _find_sealer(self) -> KeyRef | None:
        """The token's signer, checked to be the key resume verified the seals with; from here
        on every journal line is sealed."""
        service = self.service
        ref = await service.call(service.find_signer)
        if ref is None and self._seal_key is not None:
            raise VerificationError(
                "signer-missing", f"token {self.record.token.label} shows a ceremony signer's "
                "public key but holds no signer private key",
                "Compare the token with the paper log before going on",
            )
        if ref is not None:
            public = (await service.call(service.facts, ref)).public_der
            if self._seal_key is not None and public != self._seal_key:
                raise VerificationError(
                    "signer-mismatch", f"the ceremony signer on token "
                    f"{self.record.token.label} is not the key the journal's seals were checked "
                    "with", "Compare the token with the paper log before going on",
                )
            self._sealer = ref
        return ref

    async def _signer(self) -> None:
        self._doing = "readying the ceremony signer"
        service = self.service
        ref = await self._find_sealer()
        derived = self.state.signer_id
        if ref is None:
            await self.log(Kind.SIGNER_INTENT, "creating the ceremony signer (EC P-384)",
                           key_id=derived.hex())
            ref = await service.call(service.create_signer, derived)
            self._sealer = ref
        created = ref.key_id == derived
        facts = await service.call(service.facts, ref)
        self.record.set_signer(facts, created)
        if self.state.signer_ready:
            await self._seal(self.journal.last)
            return
        if created:
            message = (f"created the ceremony signer; write its fingerprint in the paper log: "
                       f"{hex_groups(bytes.fromhex(facts.fingerprint))}")
        else:
            message = f"ceremony signer {facts.fingerprint[:16]}... found on the token"
        await self.log(Kind.SIGNER_READY, message, key_id=ref.key_id.hex(),
                       fingerprint=facts.fingerprint, created=created)

    async def _key(self, key: KeyEntry) -> None:
        service = self.service
        if key.name in self.state.destroy_confirmed:
            # Exported and confirmed for destruction before the interruption: the journal
            # holds its facts, the token may no longer hold the key.
            self.record.keys[key.name] = self.state.journaled_facts(key)
            self.record.exported[key.name] = self.state.exported[key.name]
            return
        self._doing = f"creating key {key.name}"
        ref = await self._created_key(key)
        facts = await service.call(service.facts, ref)
        self._check_known_fingerprint(key, facts)
        if key.name not in self.state.created:
            verb = "imported" if key.origin == "import" else "created"
            await self.log(Kind.KEY_CREATED, f"key {key.name} ({key.spec}) {verb} as "
                           f"{key.label}", **_facts_json(key, facts))
        self.record.keys[key.name] = facts
        if key.name not in self.state.confirmed:
            self._doing = f"the read-back of key {key.name}"
            custodian = self.plan.with_role("custodian")[0].name
            value = facts.fingerprint or facts.kcv
            if value is None:  # an AES key on a token without CKA_CHECK_VALUE
                await self.log(Kind.WARNING, f"key {key.name}: {facts.kcv_note}")
                shown, words = f"no check value ({facts.kcv_note})", []
            else:
                shown, words = hex_groups(bytes.fromhex(value)), pgp_words(bytes.fromhex(value))
            decisions.readback_confirmed(await self.operator.confirm_readback(
                custodian, key.name, shown, words), custodian, key.name)
            await self.log(Kind.KEY_CONFIRMED, f"read-back of key {key.name} confirmed",
                           name=key.name, by=custodian, scripted=self.operator.scripted)
        if key.name in self.state.exported:
            self.record.exported[key.name] = self.state.exported[key.name]
            return
        self._doing = f"exporting key {key.name}"
        kek = self.plan.kek(key.kek).kek
        exported = await service.call(
            export_key, service, self.record.token, facts, kek, self.files.keys,
            key.name, key.azure_name)
        files = {str(Path(p).relative_to(self.directory)): d for p, d in exported.sha256.items()}
        self.record.exported[key.name] = {"files": files, "az_import_command":
                                          exported.az_command}
        await self.log(Kind.KEY_EXPORTED, f"key {key.name} exported for {kek.kid.url}",
                       name=key.name, files=files, az_import_command=exported.az_command)

    async def _created_key(self, key: KeyEntry) -> KeyRef:
        """The key with the CKA_ID this ceremony derives for it: adopted when the token holds
        it (made before an interruption), made otherwise."""
        service = self.service
        ref = KeyRef(key.label, self.state.key_id(key.name), key.spec)
        if await service.call(service.key_present, ref):
            await service.call(service.adopt, ref)
            return ref
        if key.name in self.state.created:
            raise VerificationError(
                "key-missing", f"key {key.name} (CKA_ID {ref.key_id.hex()}) was created "
                f"in this ceremony but is no longer on token {self.record.token.label}",
                "Stop: compare the token with the journal; the key may have been deleted",
            )
        verb = "importing" if key.origin == "import" else "creating"
        await self.log(Kind.KEY_INTENT, f"{verb} key {key.name} as {key.label}",
                       name=key.name, label=key.label, key_id=ref.key_id.hex(),
                       origin=key.origin)
        return await self._make_key(key, ref.key_id)

    async def _make_key(self, key: KeyEntry, key_id: bytes) -> KeyRef:
        service = self.service
        if key.origin == "import":
            try:
                blob = read_input(key.source, "key-transfer file", KEY_TRANSFER_LIMIT)
            except OSError as error:
                raise BadInputError(
                    "key-source-unreadable",
                    f"key-transfer file {key.source} of key {key.name} cannot be read "
                    f"({error.strerror})", "Check the file named by the plan's source field",
                ) from None
            return await service.call(service.import_key, key.spec, key.label,
                                      _policy(self.plan), key_id, key.unwrap_key, blob)
        return await service.call(service.generate, key.spec, key.label, _policy(self.plan),
                                  key_id)

    def _check_known_fingerprint(self, key: KeyEntry, facts: KeyFacts) -> None:
        known = self.state.created.get(key.name)
        if known is not None and (known["fingerprint"], known["kcv"]) != (
                facts.fingerprint, facts.kcv):
            raise VerificationError(
                "key-changed", f"key {key.name} on token {self.record.token.label} does not "
                "match the fingerprint journaled when it was created",
                "Stop: the token holds a different key under this CKA_ID",
            )

    async def _acknowledgements(self) -> None:
        statement = self.record.statement()
        for person in self.plan.participants:
            if person.role == "custodian" or person.name in self.state.acknowledged:
                continue
            decisions.signed_off(await self.operator.acknowledge(
                person.name, person.role, statement), person.name, person.role)
            await self.log(Kind.ACKNOWLEDGED, f"{person.name} ({person.role}) signed off",
                           name=person.name, role=person.role, statement=statement,
                           scripted=self.operator.scripted)

    async def _destroy(self, key: KeyEntry) -> None:
        """Destroy the token copy; the confirmation is journaled first, so resume can tell a
        key destroyed just before a crash from a key that went missing."""
        self.record.destroyed.add(key.name)
        if key.name in self.state.destroyed:
            return
        self._doing = f"destroying key {key.name}"
        facts = self.record.keys[key.name]
        if key.name not in self.state.destroy_confirmed:
            action = (f"Destroy key {describe_key(key, facts)} on token "
                      f"{self.record.token.label}; after this it exists only in the BYOK package")
            decisions.irreversible_confirmed(
                await self.operator.confirm_irreversible(action), action)
            await self.log(Kind.DESTROY_CONFIRMED, f"destruction of key {key.name} confirmed",
                           name=key.name, key_id=facts.ref.key_id.hex(),
                           scripted=self.operator.scripted)
        await self._destroy_now(key, facts.ref)

    async def _destroy_now(self, key: KeyEntry, ref: KeyRef) -> None:
        count = await self.service.call(self.service.destroy, ref)
        await self.log(Kind.KEY_DESTROYED, f"key {key.name} destroyed on the token ({count} "
                       "objects)", name=key.name, key_id=ref.key_id.hex(), objects=count)

    async def _present_keys(self) -> list[tuple[KeyEntry, KeyFacts]]:
        """The plan's keys still on the token under the CKA_IDs this ceremony derives."""
        service = self.service
        present = []
        for key in self.plan.keys:
            ref = KeyRef(key.label, self.state.key_id(key.name), key.spec)
            if await service.call(service.key_present, ref):
                present.append((key, await service.call(service.facts, ref)))
        return present

    async def _withdraw(self, path: Path) -> None:
        """Delete an aborted ceremony's package so it cannot be imported from here; journal it."""
        digest = sha256_hex(read_file(path))
        try:
            path.unlink()
            fsync_dir(path.parent)
        except OSError as error:
            raise output_error(path.parent, error) from None
        relative = path.relative_to(self.directory).as_posix()
        await self.log(Kind.PACKAGE_WITHDRAWN, f"deleted {relative}: the key it carries was "
                       "aborted", file=relative, sha256=digest)

    async def _finish(self) -> Outcome:
        self._doing = "writing the documents"
        draft = self.record.draft(self.journal)
        catalog = load_catalog()
        write_all_exclusive({
            self.files / RUNBOOK: runbook_markdown(draft, catalog).encode(),
            self.files / REPORT: report_markdown(draft, catalog).encode(),
        })
        await self.log(Kind.DOCUMENTS_WRITTEN, "runbook.md and report.md written")
        self._doing = "signing the record"
        record = self.record.final(self.journal, self.files.outputs())
        data = canonical(record)
        service = self.service
        signature = await service.call(service.sign, self.record.signer_ref, data)
        write_all_exclusive({
            self.files.record: data,
            self.files.signature: signature,
            self.files.signer: signer_pem(self.record.signer_facts.public_der),
        })
        record_sha = sha256_hex(data)
        await self.log(Kind.RECORD_SIGNED, "record.json signed inside the HSM", sha256=record_sha)
        self._doing = "verifying the outputs"
        fingerprint = self.record.signer_facts.fingerprint
        verify_ceremony(self.directory, signer=fingerprint,
                        previous=self.plan.ceremony.previous_record)
        await self.log(Kind.VERIFIED, "record signature, journal and every file verified in "
                       "software")
        await self.log(Kind.CEREMONY_COMPLETED, f"ceremony {self.plan.ceremony.id} completed",
                       directory=str(self.directory), record_sha256=record_sha,
                       signer_fingerprint=fingerprint)
        return Outcome(self.directory, record_sha, fingerprint, self.record.signer_created,
                       self.journal.entries, self.journal.head)


def describe_key(key: KeyEntry, facts: KeyFacts) -> str:
    """A key as a person checks it before it is destroyed: name, label, type, fingerprint."""
    if facts.fingerprint:
        value = f"SHA-256 {hex_groups(bytes.fromhex(facts.fingerprint))}"
    elif facts.kcv:
        value = f"check value {facts.kcv}"
    else:
        value = "no check value"
    return f"{key.name} (label {key.label}, {key.spec}, {value})"


def _abort_question(token: str, doomed, packages: list[Path], directory: Path) -> str:
    parts = []
    if doomed:
        keys = "; ".join(describe_key(key, facts) for key, facts in doomed)
        parts.append(f"Destroy {len(doomed)} key(s) this ceremony created on token {token}: "
                     f"{keys}")
    if packages:
        names = ", ".join(path.name for path in packages)
        parts.append(f"delete {len(packages)} BYOK package(s) from {directory / 'keys'} ({names}) "
                     "so they cannot be imported from there; copies made elsewhere stay "
                     "importable")
    text = "; and ".join(parts)
    return text[0].upper() + text[1:]


def _policy(plan: Plan) -> Policy:
    return Policy.TRUSTED if plan.hsm.wrap_policy == "trusted" else Policy.EXTRACTABLE


def _facts_json(key: KeyEntry, facts: KeyFacts) -> dict:
    return {"name": key.name, "label": key.label, "key_id": facts.ref.key_id.hex(),
            "type": str(key.spec), "fingerprint": facts.fingerprint, "kcv": facts.kcv,
            "attributes": facts.attributes}
