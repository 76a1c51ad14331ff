"""The ceremony engine: runs a checked plan step by step, journals every step, asks an Operator.

One engine serves every front end: it awaits each HSM call on the HSM thread and each human
decision from its Operator, and reports progress as Events; it never prompts and never touches
a widget. Every step is journaled before the next begins, and a key's CKA_ID is journaled
before the key is created, so a crash at any point leaves every HSM object accounted for and
`resume` can finish the ceremony from the journal (DESIGN.md sections 1-3).
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ceremony import __version__
from ceremony.azure.pgpwords import hex_groups, pgp_words
from ceremony.ceremony_state import CeremonyState, read_state
from ceremony.databricks.catalog import load_catalog
from ceremony.documents import report_markdown, runbook_markdown
from ceremony.errors import BadInputError, CeremonyError, TokenError, VerificationError
from ceremony.events import Event, Kind
from ceremony.export import export_key
from ceremony.files import write_all_exclusive, write_exclusive
from ceremony.hsm import HsmService
from ceremony.hsm.keys import KeyFacts, KeyRef
from ceremony.hsm.module import find_module
from ceremony.hsm.templates import Policy
from ceremony.journal import Journal
from ceremony.operators import Operator
from ceremony.plan_model import KeyEntry, PinSpec, Plan
from ceremony.record import canonical, list_outputs, sha256_hex, signer_pem
from ceremony.record_build import RecordBuilder
from ceremony.secret import SecretPin, join
from ceremony.verify import verify_ceremony

KILL_HOOK = "CMK_CEREMONY_KILL_AFTER_SEQ"  # tests: SIGKILL this process after journal line N


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
        env: Mapping[str, str] = os.environ,
    ) -> None:
        self.plan = plan
        self.operator = operator
        self.emit = emit or (lambda event: None)
        self.env = env
        self.directory = plan.ceremony_dir
        self.journal: Journal | None = None
        self.service: HsmService | None = None
        self.state = CeremonyState()
        self.record = RecordBuilder(plan, operator)

    # -- journal ------------------------------------------------------------------------------

    def log(self, kind: Kind, message: str, **data) -> Event:
        entry = self.journal.append(str(kind), {"message": message, **data})
        event = Event.make(kind, message, entry.seq, **data)
        self.emit(event)
        if self.env.get(KILL_HOOK) == str(entry.seq):
            os.kill(os.getpid(), signal.SIGKILL)
        return event

    # -- entry points -------------------------------------------------------------------------
    # Each takes the token lock before it touches the ceremony directory: the lock is what
    # keeps two processes (a run and an abort, two resumes) from writing one journal.

    async def run(self) -> Outcome:
        """A new ceremony: take the token, make its directory, then every step.

        A token that is missing or in use, or a plan changed since it was checked, leaves
        nothing on disk.
        """
        await self._take_token()
        with self._closing_on_error():
            self._create_directory()
        return await self._steps(resuming=False)

    async def resume(self) -> Outcome:
        """Finish an interrupted ceremony from its journal."""
        await self._take_token()
        with self._closing_on_error():
            self.state, torn = read_state(self.directory, self.plan)
            self.journal = Journal.open_existing(self.directory / "journal.jsonl",
                                                 drop_torn_tail=torn is not None)
        return await self._steps(resuming=True)

    async def abort(self) -> int:
        """Destroy the target keys this ceremony created, once a person confirms; journal it.

        The PIN and the confirmation come before the abort is journaled, so a wrong PIN or a
        "no" leaves the ceremony resumable. The ceremony signer stays: it holds no customer
        data and signs later ceremonies.
        """
        await self._take_token()
        try:
            self.state, torn = read_state(self.directory, self.plan, aborting=True)
            doomed = {name: key_id for name, key_id in self.state.intents.items()
                      if name not in self.state.destroyed}
            self.journal = Journal.open_existing(self.directory / "journal.jsonl",
                                                 drop_torn_tail=torn is not None)
            if doomed:
                await self._login_quietly()
                await self.operator.confirm_irreversible(
                    f"Destroy {len(doomed)} key(s) this ceremony created on token "
                    f"{self.record.token.label}: {', '.join(sorted(doomed))}")
            if not self.state.aborted:
                self.log(Kind.ABORTED, f"ceremony {self.plan.ceremony.id} aborted on token "
                         f"{self.record.token.label}", keys=sorted(doomed),
                         scripted=self.operator.scripted)
            specs = {key.name: key for key in self.plan.keys}
            for name, key_id in doomed.items():
                ref = KeyRef(specs[name].label, key_id, specs[name].spec)
                count = await self.service.call(self.service.destroy, ref)
                self.log(Kind.KEY_DESTROYED, f"key {name} destroyed on the token ({count} "
                         "objects)", name=name, key_id=key_id.hex(), objects=count)
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

    async def _steps(self, resuming: bool) -> Outcome:
        try:
            if resuming:
                self._log_resumed()
            else:
                self.log(Kind.CEREMONY_STARTED, f"ceremony {self.plan.ceremony.id} started",
                         ceremony=self.plan.ceremony.id, plan=str(self.plan.path.resolve()),
                         plan_sha256=self.plan.sha256, tool_version=__version__,
                         operator=self.operator.kind)
            return await self._all_steps()
        except CeremonyError as error:
            self.log(Kind.STEP_FAILED, f"stopped: {error.message}", code=error.code,
                     error=error.message, hint=error.hint)
            raise
        finally:
            self._close()

    def _log_resumed(self) -> None:
        dropped = self.journal.dropped
        self.log(Kind.RESUMED, f"ceremony {self.plan.ceremony.id} resumed",
                 operator=self.operator.kind,
                 dropped_torn_line=dropped.data.decode(errors="replace") if dropped else None)
        for path in self.state.debris(self.directory):
            path.unlink()
            self.log(Kind.FILE_DISCARDED, f"discarded unfinished file {path.name}",
                     file=str(path.relative_to(self.directory)))

    async def _all_steps(self) -> Outcome:
        await self._confirm_keks()
        await self._open_token()
        for key in self.plan.keys:
            await self._key(key)
        await self._acknowledgements()
        for key in self.plan.keys:
            if key.after_export == "destroy":
                await self._destroy(key)
        return await self._finish()

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
        try:
            (self.directory / "keys").mkdir()
            write_exclusive(self.directory / "plan.toml", data)
            self.journal = Journal.create(self.directory / "journal.jsonl")
        except BaseException:
            shutil.rmtree(self.directory)  # made by this call a moment ago, holds nothing else
            raise

    def _plan_bytes(self) -> bytes:
        data = self.plan.path.read_bytes()
        if sha256_hex(data) != self.plan.sha256:
            raise BadInputError(
                "plan-changed", f"plan file {self.plan.path} changed after it was checked",
                "Check the plan again and start over",
            )
        return data

    async def _pin(self, spec: PinSpec, role: str) -> SecretPin:
        token = self.plan.hsm.token or self.plan.hsm.serial
        if not spec.split:
            return await self.operator.pin(f"{role} of token {token}", spec.source)
        parts = [
            await self.operator.pin(
                f"{part.custodian} ({role} PIN part {n} of {len(spec.parts)})", part.source)
            for n, part in enumerate(spec.parts, 1)
        ]
        return join(parts)

    async def _confirm_keks(self) -> None:
        """Before any KEK is trusted or used, the administrator compares its fingerprint with
        the one noted online: a KEK file swapped on the way would receive every key."""
        administrator = self.plan.with_role("administrator")[0].name
        for entry in self.plan.keks:
            if entry.name in self.state.keks_confirmed:
                continue
            digest = bytes.fromhex(entry.kek.fingerprint)
            await self.operator.confirm_kek(administrator, entry.name, entry.kek.kid.url,
                                            hex_groups(digest), pgp_words(digest))
            self.log(Kind.KEK_CONFIRMED, f"KEK {entry.name} fingerprint confirmed against the "
                     "online record", name=entry.name, kid=entry.kek.kid.url,
                     fingerprint=entry.kek.fingerprint, by=administrator,
                     scripted=self.operator.scripted)

    async def _take_token(self) -> None:
        hsm = self.plan.hsm
        module = find_module(str(hsm.module) if hsm.module else None, self.env)
        self.service = service = HsmService(module, self.env)
        self.record.token = await service.call(
            service.select, label=hsm.token, serial=hsm.serial)

    async def _select(self) -> None:
        if self.service is None:
            await self._take_token()
        info = self.record.token
        self.log(Kind.TOKEN_SELECTED, f"token {info.label} (serial {info.serial}) selected "
                 "and locked", **self.record.token_json())

    async def _login(self) -> None:
        await self._login_quietly()
        self.log(Kind.LOGGED_IN, f"user logged in to token {self.record.token.label}")

    async def _login_quietly(self) -> None:
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
            await self.operator.confirm_final_try(role, self.record.token.label, error)
            self.log(Kind.FINAL_TRY_CONFIRMED, f"final {role} PIN try on token "
                     f"{self.record.token.label} confirmed", role=role,
                     scripted=self.operator.scripted)
            await attempt(True)

    async def _open_token(self) -> None:
        await self._select()
        service = self.service
        exports = [k for k in self.plan.keys if k.name not in self.state.exported]
        if self.plan.hsm.wrap_policy == "trusted" and exports:
            so_pin = await self._pin(self.plan.hsm.so_pin, "SO")
            keks = {entry.kek.fingerprint: entry.kek for entry in self.plan.keks}
            await self._final_try_aware("SO", lambda confirm: service.call(
                service.stage_trusted_wrapping, list(keks.values()), len(exports), so_pin,
                confirm_final_try=confirm))
            self.log(Kind.TRUSTED_STAGED, f"SO staged {len(keks)} trusted KEK(s) and "
                     f"{len(exports)} ephemeral key(s) as session objects; SO logged out",
                     keks=sorted(keks), ephemeral_keys=len(exports))
        await self._login()
        self.record.self_test = result = await service.call(service.self_test)
        self.log(Kind.SELF_TEST, f"wrap self-test passed with {result.kwp_mechanism}",
                 kwp_mechanism=result.kwp_mechanism, zero_padding=result.zero_padding,
                 warnings=list(result.warnings))
        for warning in result.warnings:
            self.log(Kind.WARNING, warning)
        await self._signer()

    async def _signer(self) -> None:
        service = self.service
        ref = await service.call(service.find_signer)
        created = self.state.signer_created or (
            ref is not None and ref.key_id == self.state.signer_intent)
        if ref is None:
            key_id = self.state.signer_intent or await service.call(service.new_key_id)
            if self.state.signer_intent is None:
                self.log(Kind.SIGNER_INTENT, "creating the ceremony signer (EC P-384)",
                         key_id=key_id.hex())
            ref = await service.call(service.create_signer, key_id)
            created = True
        facts = await service.call(service.facts, ref)
        self.record.set_signer(facts, created)
        if created and not self.state.signer_ready:
            message = (f"created the ceremony signer; write its fingerprint in the paper log: "
                       f"{hex_groups(bytes.fromhex(facts.fingerprint))}")
        else:
            message = f"ceremony signer {facts.fingerprint[:16]}... found on the token"
        if not self.state.signer_ready:
            self.log(Kind.SIGNER_READY, message, key_id=ref.key_id.hex(),
                     fingerprint=facts.fingerprint, created=created)

    async def _key(self, key: KeyEntry) -> None:
        service = self.service
        if key.name in self.state.destroy_confirmed:
            # Exported and confirmed for destruction before the interruption: the journal
            # holds its facts, the token may no longer hold the key.
            self.record.keys[key.name] = self.state.journaled_facts(key)
            self.record.exported[key.name] = self.state.exported[key.name]
            return
        ref = await self._created_key(key)
        facts = await service.call(service.facts, ref)
        self._check_known_fingerprint(key, facts)
        if key.name not in self.state.created:
            verb = "imported" if key.origin == "import" else "created"
            self.log(Kind.KEY_CREATED, f"key {key.name} ({key.spec}) {verb} as {key.label}",
                     **_facts_json(key, facts))
        self.record.keys[key.name] = facts
        value = facts.fingerprint or facts.kcv
        if key.name not in self.state.confirmed:
            custodian = self.plan.with_role("custodian")[0].name
            if value is None:  # an AES key on a token without CKA_CHECK_VALUE
                self.log(Kind.WARNING, f"key {key.name}: {facts.kcv_note}")
                shown, words = f"no check value ({facts.kcv_note})", []
            else:
                shown, words = hex_groups(bytes.fromhex(value)), pgp_words(bytes.fromhex(value))
            await self.operator.confirm_readback(custodian, key.name, shown, words)
            self.log(Kind.KEY_CONFIRMED, f"read-back of key {key.name} confirmed",
                     name=key.name, by=custodian, scripted=self.operator.scripted)
        if key.name in self.state.exported:
            self.record.exported[key.name] = self.state.exported[key.name]
            return
        kek = self.plan.kek(key.kek).kek
        exported = await service.call(
            export_key, service, self.record.token, facts, kek, self.directory / "keys",
            key.name, key.azure_name)
        files = {str(Path(p).relative_to(self.directory)): d for p, d in exported.sha256.items()}
        self.record.exported[key.name] = {"files": files, "az_import_command":
                                          exported.az_command}
        self.log(Kind.KEY_EXPORTED, f"key {key.name} exported for {kek.kid.url}",
                 name=key.name, files=files, az_import_command=exported.az_command)

    async def _created_key(self, key: KeyEntry) -> KeyRef:
        service = self.service
        if key.name in self.state.intents:
            ref = KeyRef(key.label, self.state.intents[key.name], key.spec)
            if await service.call(service.key_present, ref):
                await service.call(service.adopt, ref)
                return ref
            if key.name in self.state.created:
                raise VerificationError(
                    "key-missing", f"key {key.name} (CKA_ID {ref.key_id.hex()}) was created "
                    f"in this ceremony but is no longer on token {self.record.token.label}",
                    "Stop: compare the token with the journal; the key may have been deleted",
                )
            return await self._make_key(key, ref.key_id)
        key_id = await service.call(service.new_key_id)
        verb = "importing" if key.origin == "import" else "creating"
        self.log(Kind.KEY_INTENT, f"{verb} key {key.name} as {key.label}",
                 name=key.name, label=key.label, key_id=key_id.hex(), origin=key.origin)
        return await self._make_key(key, key_id)

    async def _make_key(self, key: KeyEntry, key_id: bytes) -> KeyRef:
        service = self.service
        if key.origin == "import":
            try:
                blob = key.source.read_bytes()
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
        if known is not None and (known.get("fingerprint"), known.get("kcv")) != (
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
            await self.operator.acknowledge(person.name, person.role, statement)
            self.log(Kind.ACKNOWLEDGED, f"{person.name} ({person.role}) signed off",
                     name=person.name, role=person.role, statement=statement,
                     scripted=self.operator.scripted)

    async def _destroy(self, key: KeyEntry) -> None:
        """Destroy the token copy; the confirmation is journaled first, so resume can tell a
        key destroyed just before a crash from a key that went missing."""
        self.record.destroyed.add(key.name)
        if key.name in self.state.destroyed:
            return
        ref = self.record.keys[key.name].ref
        if key.name not in self.state.destroy_confirmed:
            await self.operator.confirm_irreversible(
                f"Destroy key {key.name} ({key.label}) on token {self.record.token.label}; "
                "after this it exists only in the BYOK package")
            self.log(Kind.DESTROY_CONFIRMED, f"destruction of key {key.name} confirmed",
                     name=key.name, key_id=ref.key_id.hex(), scripted=self.operator.scripted)
        count = await self.service.call(self.service.destroy, ref)
        self.log(Kind.KEY_DESTROYED, f"key {key.name} destroyed on the token ({count} objects)",
                 name=key.name, key_id=ref.key_id.hex(), objects=count)

    async def _finish(self) -> Outcome:
        draft = self.record.draft(self.journal)
        catalog = load_catalog()
        write_all_exclusive({
            self.directory / "runbook.md": runbook_markdown(draft, catalog).encode(),
            self.directory / "report.md": report_markdown(draft, catalog).encode(),
        })
        self.log(Kind.DOCUMENTS_WRITTEN, "runbook.md and report.md written")
        record = self.record.final(self.journal, list_outputs(self.directory))
        data = canonical(record)
        service = self.service
        signature = await service.call(service.sign, self.record.signer_ref, data)
        write_all_exclusive({
            self.directory / "record.json": data,
            self.directory / "record.json.sig": signature,
            self.directory / "signer.pub.pem": signer_pem(self.record.signer_facts.public_der),
        })
        record_sha = sha256_hex(data)
        self.log(Kind.RECORD_SIGNED, "record.json signed inside the HSM", sha256=record_sha)
        fingerprint = self.record.signer_facts.fingerprint
        verify_ceremony(self.directory, signer=fingerprint,
                        previous=self.plan.ceremony.previous_record)
        self.log(Kind.VERIFIED, "record signature, journal and every file verified in software")
        self.log(Kind.CEREMONY_COMPLETED, f"ceremony {self.plan.ceremony.id} completed",
                 directory=str(self.directory), record_sha256=record_sha,
                 signer_fingerprint=fingerprint)
        return Outcome(self.directory, record_sha, fingerprint, self.record.signer_created,
                       self.journal.entries, self.journal.head)


def _policy(plan: Plan) -> Policy:
    return Policy.TRUSTED if plan.hsm.wrap_policy == "trusted" else Policy.EXTRACTABLE


def _facts_json(key: KeyEntry, facts: KeyFacts) -> dict:
    return {"name": key.name, "label": key.label, "key_id": facts.ref.key_id.hex(),
            "type": str(key.spec), "fingerprint": facts.fingerprint, "kcv": facts.kcv,
            "attributes": facts.attributes}
