"""One key's part of a ceremony: intent, create or import, read-back, export, destroy; and, for
abort, the keys the ceremony made and their packages. A mixin of the Engine (ceremony.py).

A key's CKA_ID is derived (identity.py) and journaled in its intent line before the key is
made, so a crash at any point leaves every object on the token accounted for.
"""

from __future__ import annotations

from pathlib import Path

from ceremony.digests import sha256_hex
from ceremony.engine import decisions, steps
from ceremony.engine import events as ev
from ceremony.engine.export import ExportTarget, export_key
from ceremony.errors import BadInputError, VerificationError
from ceremony.files import MiB, fsync_dir, output_error, read_file, read_input
from ceremony.hsm.templates import Policy
from ceremony.hsm.types import KeyFacts, KeyRef
from ceremony.plan.model import KeyEntry, Plan
from ceremony.readback import hex_groups, pgp_words

# A key-transfer file holds one wrapped key: a few KiB even for RSA 4096.
KEY_TRANSFER_LIMIT = MiB


class KeySteps:
    """The Engine's key steps; `self` is the Engine."""

    async def _key(self, key: KeyEntry) -> None:
        if key.name in self.state.destroy_confirmed:
            # Exported and confirmed for destruction before the interruption: the journal
            # holds its facts, the token may no longer hold the key.
            self.builder.keys[key.name] = self.state.journaled_facts(key)
            self.builder.exported[key.name] = self.state.exported[key.name]
            return
        facts = await self._create(key)
        if key.name not in self.state.confirmed:
            await self._readback(key, facts)
        if key.name in self.state.exported:
            self.builder.exported[key.name] = self.state.exported[key.name]
        else:
            await self._export(key, facts)

    async def _create(self, key: KeyEntry) -> KeyFacts:
        """The key made (or found, on resume) and journaled with its facts."""
        self._start(steps.create_step(key.name))
        service = self.service
        ref = await self._created_key(key)
        facts = await service.call(service.facts, ref)
        self._check_known_fingerprint(key, facts)
        if key.name not in self.state.created:
            verb = "imported" if key.origin == "import" else "created"
            await self._journal_event(_created(key, facts),
                                      f"key {key.name} ({key.spec}) {verb} as {key.label}")
        self.builder.keys[key.name] = facts
        return facts

    async def _readback(self, key: KeyEntry, facts: KeyFacts) -> None:
        """A custodian reads the fingerprint aloud for the paper log and confirms it."""
        self._start(steps.readback_step(key.name))
        custodian = self.plan.with_role("custodian")[0].name
        value = facts.fingerprint or facts.kcv
        if value is None:  # an AES key on a token without CKA_CHECK_VALUE
            await self._journal_event(ev.WarningGiven(), f"key {key.name}: {facts.kcv_note}")
            shown, words = f"no check value ({facts.kcv_note})", []
        else:
            shown, words = hex_groups(bytes.fromhex(value)), pgp_words(bytes.fromhex(value))
        decisions.readback_confirmed(await self.operator.confirm_readback(
            custodian, key.name, shown, words), custodian, key.name)
        await self._journal_event(ev.KeyConfirmed(key.name, custodian, self.operator.scripted),
                                  f"read-back of key {key.name} confirmed")

    async def _export(self, key: KeyEntry, facts: KeyFacts) -> None:
        """Wrapped inside the HSM to its KEK; the package and its files written."""
        self._start(steps.export_step(key.name))
        service = self.service
        kek = self.plan.kek(key.kek).kek
        exported = await service.call(
            export_key, service, self.builder.token, facts, kek,
            ExportTarget(self.files.keys, key.name, key.azure_name))
        files = {str(Path(p).relative_to(self.directory)): d for p, d in exported.sha256.items()}
        self.builder.exported[key.name] = {"files": files, "az_import_command":
                                          exported.az_command}
        await self._journal_event(ev.KeyExported(key.name, files, exported.az_command),
                                  f"key {key.name} exported for {kek.kid.url}")

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
                f"in this ceremony but is no longer on token {self.builder.token.label}",
                "Stop: compare the token with the journal; the key may have been deleted",
            )
        verb = "importing" if key.origin == "import" else "creating"
        await self._journal_event(
            ev.KeyIntent(key.name, key.label, ref.key_id.hex(), key.origin),
            f"{verb} key {key.name} as {key.label}")
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
                "key-changed", f"key {key.name} on token {self.builder.token.label} does not "
                "match the fingerprint journaled when it was created",
                "Stop: the token holds a different key under this CKA_ID",
            )

    async def _destroy(self, key: KeyEntry) -> None:
        """Destroy the token copy; the confirmation is journaled first, so resume can tell a
        key destroyed just before a crash from a key that went missing."""
        self.builder.destroyed.add(key.name)
        if key.name in self.state.destroyed:
            return
        self._start(steps.destroy_step(key.name))
        facts = self.builder.keys[key.name]
        if key.name not in self.state.destroy_confirmed:
            action = (f"Destroy key {describe_key(key, facts)} on token "
                      f"{self.builder.token.label}; after this it exists only in the BYOK package")
            decisions.irreversible_confirmed(
                await self.operator.confirm_irreversible(action), action)
            await self._journal_event(
                ev.DestroyConfirmed(key.name, facts.ref.key_id.hex(), self.operator.scripted),
                f"destruction of key {key.name} confirmed")
        await self._destroy_now(key, facts.ref)

    async def _destroy_now(self, key: KeyEntry, ref: KeyRef) -> None:
        count = await self.service.call(self.service.destroy, ref)
        await self._journal_event(ev.KeyDestroyed(key.name, ref.key_id.hex(), count),
                                  f"key {key.name} destroyed on the token ({count} objects)")

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
        await self._journal_event(ev.PackageWithdrawn(relative, digest),
                                  f"deleted {relative}: the key it carries was aborted")


def describe_key(key: KeyEntry, facts: KeyFacts) -> str:
    """A key as a person checks it before it is destroyed: name, label, type, fingerprint."""
    if facts.fingerprint:
        value = f"SHA-256 {hex_groups(bytes.fromhex(facts.fingerprint))}"
    elif facts.kcv:
        value = f"check value {facts.kcv}"
    else:
        value = "no check value"
    return f"{key.name} (label {key.label}, {key.spec}, {value})"


def abort_question(token: str, doomed, packages: list[Path], directory: Path) -> str:
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


def _created(key: KeyEntry, facts: KeyFacts) -> ev.KeyCreated:
    return ev.KeyCreated(name=key.name, label=key.label, key_id=facts.ref.key_id.hex(),
                         type=str(key.spec), fingerprint=facts.fingerprint, kcv=facts.kcv,
                         attributes=facts.attributes)
