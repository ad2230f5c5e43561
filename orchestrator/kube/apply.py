"""Apply a delivery with server-side apply: resolve, prove unchanged, dry-run all, apply by stage.

The steps, in order:

1. Resolve every kind through API discovery. A kind the cluster does not
   serve is an error (UnknownKind, naming apiVersion, kind and file), unless
   a CRD of the same delivery defines it: then it is resolved after that CRD
   is applied and Established.
2. Read the live metadata: one metadata-only LIST per (kind, namespace).
3. No-op fast path: an object whose manifest digest, uid and field-manager
   fingerprint equal the inventory's record is unchanged: no request at all.
4. Server-side dry-run of every other object whose kind and namespace already
   exist. Any rejection: nothing is applied; DryRunFailed lists every one
   (or FieldConflict, when every rejection is a conflict with another manager).
5. Apply the stages of `manifests.order.stages` one after another:
   definitions (CRDs, Namespaces), then -- once the CRDs are Established and
   discovery was refreshed -- the dry-run of the objects that had to wait for
   them (custom resources of new CRDs, objects in new namespaces), then the
   cluster-scoped, namespaced and webhook stages. Inside a stage, objects go
   in waves and the objects of a wave in parallel (bounded by `concurrency`):
   in the namespaced stage a wave is a group of kinds that do not depend on
   each other (`NAMESPACED_WAVES`), elsewhere one kind, in the stage's order.

Classification: created when the object was not in the live listing (or had
another uid); unchanged when the apply returned the resourceVersion listed
before it (the API server skips the write of a no-op apply); configured
otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from typing import TypeVar

from orchestrator.errors import (
    ApplyFailed,
    ClusterUnreachable,
    DryRunFailed,
    KubeError,
    UnknownKind,
)
from orchestrator.kube.apply_options import ApplyOptions
from orchestrator.kube.changeset import Action, ChangeSet, ChangeSetEntry, Step
from orchestrator.kube.client import KubeClient, ResourceType
from orchestrator.kube.crds import crd_kind, defined_kinds
from orchestrator.kube.inventory import Inventory, InventoryEntry
from orchestrator.kube.live import LiveObject, live_object, snapshot
from orchestrator.kube.noop import unchanged
from orchestrator.kube.rejections import rejected, unknown_kinds
from orchestrator.kube.wait import CRD_GROUP, CRD_KIND, wait_established
from orchestrator.kube.waves import (
    NAMESPACED_STAGE,
    NAMESPACED_WAVES,
    interleaved,
    namespaced_wave,
    priority,
)
from orchestrator.manifests import Manifest, stages
from orchestrator.manifests.scope import crd_scopes
from orchestrator.objectref import ObjectRef

__all__ = ["NAMESPACED_WAVES", "ApplyOptions", "apply_delivery"]

_T = TypeVar("_T")
_R = TypeVar("_R")


def apply_delivery(
    client: KubeClient,
    manifests: Sequence[Manifest],
    *,
    options: ApplyOptions,
    inventory: Inventory | None = None,
    into: ChangeSet | None = None,
) -> ChangeSet:
    """Apply `manifests` and return what happened to each (created/configured/unchanged).

    `inventory` is what the environment applied last time (for the no-op fast
    path); without it every object is dry-run and applied. Entries are added
    to `into` as they happen, so a caller still has the progress when this
    raises part-way (ApplyFailed after the dry run passed, for example).

    Raises UnknownKind, DryRunFailed or FieldConflict with nothing applied;
    ApplyFailed, FieldConflict or Forbidden for an apply that failed after a
    successful dry run; ClusterUnreachable at any point.
    """
    changes = into if into is not None else ChangeSet()
    try:
        with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
            run = _Run(
                client,
                options=options,
                inventory=inventory or Inventory(),
                changes=changes,
                pool=pool,
            )
            run.run(list(manifests))
    except (UnknownKind, DryRunFailed):
        # A kind may have come or gone behind the cache's back (a CRD installed or
        # deleted by someone else): the next attempt starts from fresh discovery.
        client.forget_kinds()
        raise
    return changes


# -- one delivery ----------------------------------------------------------------------


class _Run:
    def __init__(
        self,
        client: KubeClient,
        *,
        options: ApplyOptions,
        inventory: Inventory,
        changes: ChangeSet,
        pool: ThreadPoolExecutor,
    ) -> None:
        self.client = client
        self.options = options
        self.inventory = inventory
        self.changes = changes
        self.pool = pool
        self.types: dict[ObjectRef, ResourceType] = {}
        self.live: dict[ObjectRef, LiveObject] = {}

    def run(self, manifests: list[Manifest]) -> None:
        defined = defined_kinds(manifests)
        with self.changes.timing(Step.DISCOVERY):
            pending = self._resolve(manifests, defined=defined)
        ordered = stages(manifests, namespaced=self._scope(manifests))
        resolved = [m for m in manifests if m.ref in self.types]
        self.live = self._snapshot(resolved)
        new_namespaces = {
            m.ref.name
            for m in manifests
            if (m.ref.group, m.ref.kind) == ("", "Namespace") and m.ref not in self.live
        }

        todo: set[ObjectRef] = set()
        for manifest in resolved:
            entry = self._unchanged(manifest)
            if entry is not None:
                self.changes.add(entry)
            else:
                todo.add(manifest.ref)

        waiting = {m.ref for m in pending} | {
            ref for ref in todo if ref.namespace and ref.namespace in new_namespaces
        }
        first = [m for stage in ordered for m in stage if m.ref in todo and m.ref not in waiting]
        self._dry_run(first)

        for index, stage in enumerate(ordered):
            if index == 1:
                self._after_definitions(
                    manifests,
                    definitions=ordered.definitions,
                    pending=pending,
                    waiting=waiting,
                    todo=todo,
                )
            wave_of = namespaced_wave if index == NAMESPACED_STAGE else priority
            self._apply_stage([m for m in stage if m.ref in todo], wave_of=wave_of)

    # -- resolving --------------------------------------------------------------

    def _resolve(
        self, manifests: list[Manifest], *, defined: dict[tuple[str, str], set[str]]
    ) -> list[Manifest]:
        """Resolve kinds; returns the manifests waiting for a CRD of the delivery."""
        pending: list[Manifest] = []
        unknown: list[tuple[Manifest, UnknownKind]] = []
        for manifest in manifests:
            try:
                self.types[manifest.ref] = self.client.resource_type(
                    manifest.api_version, manifest.ref.kind
                )
            except UnknownKind as exc:
                version = manifest.api_version.rpartition("/")[2]
                if version in defined.get((manifest.ref.group, manifest.ref.kind), set()):
                    pending.append(manifest)
                else:
                    unknown.append((manifest, exc))
        if unknown:
            raise unknown_kinds(unknown)
        return pending

    def _scope(self, manifests: list[Manifest]) -> Callable[[ObjectRef], bool | None]:
        from_crds = crd_scopes(m.body for m in manifests)

        def namespaced(ref: ObjectRef) -> bool | None:
            rtype = self.types.get(ref)
            if rtype is not None:
                return rtype.namespaced
            return from_crds.get((ref.group, ref.kind))

        return namespaced

    def _snapshot(self, manifests: Sequence[Manifest]) -> dict[ObjectRef, LiveObject]:
        scopes = []
        for manifest in manifests:
            rtype = self.types[manifest.ref]
            scopes.append((rtype, manifest.ref.namespace if rtype.namespaced else ""))
        with self.changes.timing(Step.LIVE):
            return snapshot(
                self.client,
                scopes,
                manager=self.options.field_manager,
                wanted={m.ref for m in manifests},
                concurrency=self.options.concurrency,
            )

    # -- the no-op fast path ----------------------------------------------------

    def _unchanged(self, manifest: Manifest) -> ChangeSetEntry | None:
        return unchanged(
            manifest,
            record=self.inventory.get(manifest.ref),
            live=self.live.get(manifest.ref),
            inventory_manager=self.inventory.field_manager,
            field_manager=self.options.field_manager,
        )

    # -- dry run ----------------------------------------------------------------

    def _dry_run(self, manifests: Sequence[Manifest]) -> None:
        """Dry-run all of `manifests`; raise with every rejection if any."""
        rejections: list[tuple[Manifest, KubeError]] = []
        checked: list[Manifest] = []
        for manifest in manifests:
            problem = self._shape_problem(manifest)
            if problem is not None:
                rejections.append((manifest, problem))
            else:
                checked.append(manifest)
        if checked:
            with self.changes.timing(Step.DRY_RUN):
                results = self._parallel(self._dry_run_one, checked)
            rejections.extend((m, err) for m, err in zip(checked, results, strict=True) if err)
        if rejections:
            raise rejected(rejections)

    def _dry_run_one(self, manifest: Manifest) -> KubeError | None:
        try:
            self.client.apply(
                manifest.body,
                field_manager=self.options.field_manager,
                force=self.options.force,
                dry_run=True,
                metadata_only=True,
            )
        except ClusterUnreachable:
            raise
        except KubeError as exc:
            return exc
        return None

    def _shape_problem(self, manifest: Manifest) -> KubeError | None:
        rtype = self.types[manifest.ref]
        if rtype.namespaced and not manifest.ref.namespace:
            reason = f"{rtype.kind} is namespaced, but the object names no namespace"
            return ApplyFailed(reason, ref=manifest.ref, reason=reason)
        if not rtype.namespaced and manifest.ref.namespace:
            reason = f"{rtype.kind} is cluster-scoped, but the object names a namespace"
            return ApplyFailed(reason, ref=manifest.ref, reason=reason)
        return None

    # -- between definitions and the rest --------------------------------------

    def _after_definitions(
        self,
        manifests: list[Manifest],
        *,
        definitions: Sequence[Manifest],
        pending: list[Manifest],
        waiting: set[ObjectRef],
        todo: set[ObjectRef],
    ) -> None:
        """Wait for the CRDs just applied, then resolve and dry-run what waited for them."""
        crds = [m for m in definitions if (m.ref.group, m.ref.kind) == (CRD_GROUP, CRD_KIND)]
        touched = [
            m
            for m in crds
            if (entry := self.changes.get(m.ref)) is not None
            and entry.action in (Action.CREATED, Action.CONFIGURED)
        ]
        if pending:
            needed = {(m.ref.group, m.ref.kind) for m in pending}
            touched += [m for m in crds if crd_kind(m) in needed and m not in touched]
        if touched:
            with self.changes.timing(Step.CRDS):
                wait_established(
                    self.client,
                    [m.ref.name for m in touched],
                    timeout=self.options.crd_timeout,
                    interval=self.options.poll_interval,
                )
            self.client.forget_kinds()
        if pending:
            with self.changes.timing(Step.CRDS):
                self._resolve_late(pending)
            self.live.update(self._snapshot(pending))
            todo.update(m.ref for m in pending)
        if waiting:
            self._dry_run([m for m in manifests if m.ref in waiting])

    def _resolve_late(self, pending: list[Manifest]) -> None:
        """Kinds of CRDs just Established; discovery may lag behind by a moment."""
        deadline = time.monotonic() + self.options.crd_timeout
        unresolved = list(pending)
        while True:
            unknown: list[tuple[Manifest, UnknownKind]] = []
            for manifest in unresolved:
                try:
                    self.types[manifest.ref] = self.client.resource_type(
                        manifest.api_version, manifest.ref.kind
                    )
                except UnknownKind as exc:
                    unknown.append((manifest, exc))
            if not unknown:
                return
            if time.monotonic() >= deadline:
                raise unknown_kinds(unknown)
            unresolved = [m for m, _ in unknown]
            time.sleep(self.options.poll_interval)
            self.client.forget_kinds()

    # -- apply ------------------------------------------------------------------

    def _apply_stage(
        self, manifests: Sequence[Manifest], *, wave_of: Callable[[Manifest], int]
    ) -> None:
        """Wave by wave; the objects of a wave in parallel, their kinds interleaved.

        Interleaving keeps a kind the API server handles one at a time (Services
        allocating cluster IPs) from holding every worker while other kinds wait.
        """
        failures: list[KubeError] = []
        for _, wave in groupby(sorted(manifests, key=wave_of), key=wave_of):
            batch = interleaved(list(wave))
            with self.changes.timing(Step.APPLY):
                results = self._parallel(self._apply_one, batch)
            for result in results:
                if isinstance(result, KubeError):
                    failures.append(result)
                else:
                    self.changes.add(result)
            if failures:
                break
        if len(failures) == 1:
            raise failures[0]
        if failures:
            lines = "\n".join(f"  {err}" for err in failures)
            raise ApplyFailed(f"{len(failures)} objects failed to apply:\n{lines}", errors=failures)

    def _apply_one(self, manifest: Manifest) -> ChangeSetEntry | KubeError:
        try:
            applied = self.client.apply(
                manifest.body,
                field_manager=self.options.field_manager,
                force=self.options.force,
                metadata_only=True,
            )
        except ClusterUnreachable:
            raise
        except KubeError as exc:
            return exc
        after = live_object(applied, manager=self.options.field_manager)
        before = self.live.get(manifest.ref)
        if before is None or before.uid != after.uid:
            action = Action.CREATED
        elif before.resource_version == after.resource_version:
            action = Action.UNCHANGED
        else:
            action = Action.CONFIGURED
        record = InventoryEntry(
            ref=manifest.ref,
            api_version=manifest.api_version,
            digest=manifest.digest,
            resource_version=after.resource_version,
            uid=after.uid,
            fields=after.fields,
        )
        return ChangeSetEntry(manifest.ref, action, record=record)

    def _parallel(self, work: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
        if len(items) <= 1:
            return [work(item) for item in items]
        return list(self.pool.map(work, items))
