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
from dataclasses import dataclass
from pathlib import Path

from ceremony import __version__
from ceremony.awaiting import off_loop
from ceremony.databricks.catalog import load_catalog
from ceremony.digests import sha256_hex
from ceremony.documents.report import report_markdown
from ceremony.documents.runbook import runbook_markdown
from ceremony.engine import decisions, steps
from ceremony.engine import events as ev
from ceremony.engine.events import Event, Payload
from ceremony.engine.key_steps import KeySteps, abort_question
from ceremony.engine.operator import Operator
from ceremony.engine.replay import CeremonyState, genesis_of, read_state
from ceremony.engine.steps import Step, planned_steps
from ceremony.engine.token_steps import TokenSteps
from ceremony.errors import BadInputError, CeremonyError
from ceremony.files import (
    output_error,
    read_file,
    write_all_exclusive,
    write_exclusive,
)
from ceremony.hsm.service import HsmService
from ceremony.hsm.types import KeyRef
from ceremony.journal import Entry, Journal
from ceremony.layout import REPORT, RUNBOOK, CeremonyDir
from ceremony.plan.dry_run import check_output
from ceremony.plan.model import Plan
from ceremony.record.build import RecordBuilder
from ceremony.record.canonical import canonical, signer_pem
from ceremony.record.verify import verify_ceremony
from ceremony.seals import seal_data

# Tests only: after journal line N, send this process SIGKILL ("N"), or the signal named
# ("N:SIGTERM", "N:SIGINT"), to prove that every interruption ends resumable.
KILL_HOOK = "CMK_CEREMONY_KILL_AFTER_SEQ"


@dataclass(frozen=True)
class Outcome:
    directory: Path
    record_sha256: str
    signer_fingerprint: str
    signer_created: bool
    journal_lines: int  # the journal's last line and its SHA-256: the record cannot sign
    journal_head: str  # the lines after the ones it covers, so these go in the paper log


class Engine(TokenSteps, KeySteps):
    """`await run()`, `resume()` or `abort()`; `steps` lists what a run will do before it
    starts (engine/steps.py), and each event goes to `emit` as it happens."""

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
        self.builder = RecordBuilder(plan, operator)
        self._sealer: KeyRef | None = None  # the signer, once ready: every line is then sealed
        self._seal_key: bytes | None = None  # the signer public key resume checked seals with
        self._doing = "starting"  # the step in progress, named when an interruption stops it
        self.steps = planned_steps(plan)  # a resume replaces them once the journal is read

    # -- journal ------------------------------------------------------------------------------

    async def _journal_event(self, payload: Payload, message: str) -> Entry:
        """Journal one line (fsync'd), tell the front end, and seal it once the signer is ready."""
        entry = await self._append(payload, message)
        self.emit(Event(payload, message, entry.seq))
        if self._sealer is not None:
            await self._seal(entry)
        return entry

    async def _append(self, payload: Payload, message: str) -> Entry:
        """One journal line, written and fsync'd off the event loop."""
        entry = await off_loop(self.journal.append, str(payload.kind),
                               {"message": message, **payload.to_data()})
        seq, _, name = self.env.get(KILL_HOOK, "").partition(":")
        if seq == str(entry.seq):
            os.kill(os.getpid(), signal.Signals[name or "SIGKILL"])
        return entry

    async def _seal(self, entry: Entry) -> None:
        """The signer's signature over `entry`'s bytes, inside the HSM, as the next line (seals.py);
        seal lines are journal-only: front ends are not told of them."""
        signature = await self.service.call(self.service.sign, self._sealer, entry.raw)
        await self._append(seal_data(entry, signature),
                           f"line {entry.seq} sealed by the ceremony signer")

    def _start(self, step: Step) -> None:
        """A step begins: told to the front end (transient, not journaled) and named if an
        interruption stops it."""
        self._doing = step.title
        self.emit(Event(ev.StepStarted(step.id), step.title))

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
        await self._closing_on_error(self._prepare())
        return await self._steps(resuming=False)

    async def _prepare(self) -> None:
        await self._labels_free()
        _, unusable = await off_loop(check_output, self.directory)
        if unusable is not None:
            raise unusable
        await off_loop(self._create_directory)

    async def resume(self) -> Outcome:
        """Finish an interrupted ceremony from its journal."""
        await self._take_token()
        await self._closing_on_error(self._read_state(aborting=False))
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
                action = abort_question(self.builder.token.label, doomed, packages,
                                         self.directory)
                decisions.irreversible_confirmed(
                    await self.operator.confirm_irreversible(action), action)
            if not self.state.aborted:
                await self._journal_event(
                    ev.CeremonyAborted([key.name for key, _ in doomed], self.operator.scripted),
                    f"ceremony {self.plan.ceremony.id} aborted on token "
                    f"{self.builder.token.label}")
            for key, facts in doomed:
                await self._destroy_now(key, facts.ref)
            for path in packages:
                await self._withdraw(path)
            return len(doomed)
        finally:
            await self._close()

    # -- the steps ----------------------------------------------------------------------------

    async def _closing_on_error(self, work) -> None:
        try:
            await work
        except BaseException:
            await self._close()
            raise

    async def _close(self) -> None:
        """Log out and release the token (on the HSM thread, after any call in flight), then
        close the journal."""
        try:
            if self.service is not None:
                await self.service.call(self.service.close)
        finally:
            if self.journal is not None:
                self.journal.close()

    async def _read_state(self, aborting: bool) -> None:
        """The journal's state, its seals checked with the token's signer (no PIN needed)."""
        service = self.service
        self._seal_key = await service.call(service.signer_public)
        self.state, torn = await off_loop(read_state, self.directory, self.plan,
                                          self._seal_key, aborting=aborting)
        self.journal = Journal.open_existing(self.files.journal,
                                             drop_torn_tail=torn is not None)

    async def _steps(self, resuming: bool) -> Outcome:
        try:
            if resuming:
                self.steps = planned_steps(self.plan, self.state)
            self.emit(Event(ev.StepsPlanned([step.to_json() for step in self.steps]),
                            f"{len(self.steps)} steps to go"))
            if resuming:
                await self._log_resumed()
            else:
                await self._log_started()
            return await self._all_steps()
        except CeremonyError as error:
            await self._journal_stop(ev.StepFailure(error.code, error.message, error.hint),
                                     f"stopped: {error.message}")
            raise
        except (asyncio.CancelledError, KeyboardInterrupt) as stop:
            cause = stop.args[0] if isinstance(stop, asyncio.CancelledError) and stop.args \
                else "SIGINT"
            await self._journal_stop(ev.Interrupted(self._doing, cause),
                                     f"interrupted ({cause}) while {self._doing}")
            raise
        finally:
            await self._close()

    async def _journal_stop(self, payload: Payload, message: str) -> None:
        """Journal why the run stopped, unsealed (nothing is done on its strength), when the
        journal can still take a line; the error that stopped the run is what gets reported."""
        if self.journal is None or self.journal.closed:
            return
        try:
            entry = await self._append(payload, message)
            self.emit(Event(payload, message, entry.seq))
        except CeremonyError:
            pass

    async def _log_started(self) -> None:
        """The first line: what identifies the ceremony (identity.py) and what resume checks."""
        plan = self.plan
        entry = await self._journal_event(ev.CeremonyStarted(
            ceremony=plan.ceremony.id, plan=str(plan.path.resolve()), plan_sha256=plan.sha256,
            directory=str(self.directory.resolve()),
            keks={kek.name: kek.kek.fingerprint for kek in plan.keks},
            tool_version=__version__, operator=self.operator.kind,
        ), f"ceremony {plan.ceremony.id} started")
        self.state = CeremonyState(genesis_of(entry, self.journal.path))

    async def _log_resumed(self) -> None:
        dropped = self.journal.dropped
        await self._journal_event(ev.Resumed(
            self.operator.kind, self.state.sealed,
            dropped.data.decode(errors="replace") if dropped else None,
        ), f"ceremony {self.plan.ceremony.id} resumed")
        for path in self.state.debris(self.directory):
            path.unlink()
            await self._journal_event(ev.FileDiscarded(str(path.relative_to(self.directory))),
                                      f"discarded unfinished file {path.name}")

    async def _all_steps(self) -> Outcome:
        await self._confirm_keks()
        await self._open_token()
        for key in self.plan.keys:
            await self._key(key)
        self._start(steps.SIGN_OFFS)
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

    async def _acknowledgements(self) -> None:
        statement = self.builder.statement()
        for person in self.plan.participants:
            if person.role == "custodian" or person.name in self.state.acknowledged:
                continue
            decisions.signed_off(await self.operator.acknowledge(
                person.name, person.role, statement), person.name, person.role)
            await self._journal_event(
                ev.Acknowledged(person.name, person.role, statement, self.operator.scripted),
                f"{person.name} ({person.role}) signed off")

    async def _finish(self) -> Outcome:
        self._start(steps.DOCUMENTS)
        await off_loop(self._write_documents)
        await self._journal_event(ev.DocumentsWritten(), "runbook.md and report.md written")
        self._start(steps.SIGN)
        record = self.builder.final(self.journal, await off_loop(self.files.outputs))
        data = canonical(record)
        service = self.service
        signature = await service.call(service.sign, self.builder.signer_ref, data)
        await off_loop(write_all_exclusive, {
            self.files.record: data,
            self.files.signature: signature,
            self.files.signer: signer_pem(self.builder.signer_facts.public_der),
        })
        record_sha = sha256_hex(data)
        await self._journal_event(ev.RecordSigned(record_sha), "record.json signed inside the HSM")
        self._start(steps.VERIFY)
        fingerprint = self.builder.signer_facts.fingerprint
        await off_loop(verify_ceremony, self.directory, signer=fingerprint,
                       previous=self.plan.ceremony.previous_record)
        await self._journal_event(ev.Verified(), "record signature, journal and every file "
                                  "verified in software")
        await self._journal_event(
            ev.CeremonyCompleted(str(self.directory), record_sha, fingerprint),
            f"ceremony {self.plan.ceremony.id} completed")
        return Outcome(self.directory, record_sha, fingerprint, self.builder.signer_created,
                       self.journal.entries, self.journal.head)

    def _write_documents(self) -> None:
        """runbook.md and report.md, rendered from the record as drafted (blocking: run off
        the loop)."""
        draft = self.builder.draft(self.journal)
        catalog = load_catalog()
        write_all_exclusive({
            self.files / RUNBOOK: runbook_markdown(draft, catalog).encode(),
            self.files / REPORT: report_markdown(draft, catalog).encode(),
        })
