"""Delete what left the delivery: the inventory difference.

An object recorded in the previous inventory but absent from the current
delivery is deleted, unless:

- pruning is off for the environment (`PruneOptions(enabled=False)`): it is
  skipped and leaves the inventory, so it is never pruned later either
  (abandoned, as Flux does with `prune: false`);
- it carries the annotation `orchestrator.dev/prune: disabled`: skipped and
  abandoned the same way;
- its inventory entry holds no uid: the agent records the uid the API server
  returned for every object it applied, so an entry without one was not
  written by an apply of ours (a forged or hand-edited inventory) and never
  prunes;
- the live object has another uid than the one we applied: someone deleted
  and re-created it, so it is not ours to delete. The DELETE itself carries
  the uid as a precondition, so an object re-created between our read and our
  delete survives too (the server answers 409, and it is left alone);
- it is a Namespace that still holds objects this delivery did not put there
  (anything not owned by another object, not being deleted, and not made by
  Kubernetes itself: the `default` ServiceAccount, the `kube-root-ca.crt`
  ConfigMap, Events, Endpoints and EndpointSlices). Deleting a Namespace
  deletes everything in it, and a namespace shared with other tenants or
  holding data must not disappear because a file left Git. It is skipped, kept
  in the inventory, and tried again on the next reconcile.

Order: the reverse of apply order, namespaced objects before cluster-scoped
ones and Namespaces and CRDs last, so a Namespace is examined after its own
objects were deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import (
    ClusterUnreachable,
    KubeError,
    PreconditionFailed,
    PruneFailed,
    UnknownKind,
)
from orchestrator.kube.changeset import Action, ChangeSet, ChangeSetEntry
from orchestrator.kube.client import KubeClient, ResourceType
from orchestrator.kube.inventory import InventoryEntry
from orchestrator.kube.wait import CRD_GROUP, CRD_KIND
from orchestrator.objectref import ObjectRef

PRUNE_ANNOTATION = "orchestrator.dev/prune"
PRUNE_DISABLED = "disabled"

# What Kubernetes itself puts into every namespace, or derives from other objects.
_SYSTEM_OBJECTS: frozenset[tuple[str, str, str]] = frozenset(
    {("", "ServiceAccount", "default"), ("", "ConfigMap", "kube-root-ca.crt")}
)
_SYSTEM_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Event"),
        ("events.k8s.io", "Event"),
        ("", "Endpoints"),
        ("discovery.k8s.io", "EndpointSlice"),
    }
)
_LAST = ((CRD_GROUP, CRD_KIND), ("", "Namespace"))
_RECREATED = "re-created by someone else since we applied it; left alone"
_NO_UID = "its inventory entry has no uid, so no apply of ours recorded it; left alone"


@dataclass(frozen=True, slots=True, kw_only=True)
class PruneOptions:
    """How objects that left the delivery are deleted.

    enabled: off, nothing is deleted (the policy's per-environment switch).
    concurrency: deletions in flight at once (8).
    propagation: deletion propagation for dependents: "Background" (default;
        the garbage collector removes ReplicaSets and Pods after their owner),
        "Foreground" or "Orphan".
    """

    enabled: bool = True
    concurrency: int = 8
    propagation: str = "Background"

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.propagation not in ("Background", "Foreground", "Orphan"):
            raise ValueError(f"unknown propagation {self.propagation!r}")


def prune(
    client: KubeClient,
    stale: Sequence[InventoryEntry],
    *,
    options: PruneOptions,
    into: ChangeSet | None = None,
) -> ChangeSet:
    """Delete the `stale` entries' objects (see the module doc for what is kept).

    Adds a deleted or skipped entry per object to `into` (or a new ChangeSet).
    A skipped entry keeps its inventory record only when it should be tried
    again (a Namespace not yet empty, a failed delete). Every failure is
    collected, then raised together as PruneFailed; ClusterUnreachable at once.
    """
    changes = into if into is not None else ChangeSet()
    if not options.enabled:
        changes.extend(
            ChangeSetEntry(
                e.ref, Action.SKIPPED, message="pruning is disabled for this environment"
            )
            for e in stale
        )
        return changes
    changes.extend(
        ChangeSetEntry(e.ref, Action.SKIPPED, message=_NO_UID) for e in stale if not e.uid
    )
    ordered = sorted((e for e in stale if e.uid), key=_prune_order)
    first = [e for e in ordered if (e.ref.group, e.ref.kind) not in _LAST]
    last = [e for e in ordered if (e.ref.group, e.ref.kind) in _LAST]
    failures: list[KubeError] = []
    with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
        for batch in (first, last):
            for entry, outcome in zip(
                batch,
                pool.map(lambda e: _prune_one(client, e, options=options), batch),
                strict=True,
            ):
                if isinstance(outcome, KubeError):
                    failures.append(outcome)
                    changes.add(
                        ChangeSetEntry(
                            entry.ref,
                            Action.SKIPPED,
                            message=f"delete failed: {outcome.reason}",
                            record=entry,
                        )
                    )
                else:
                    changes.add(outcome)
    if len(failures) == 1:
        only = failures[0]
        raise PruneFailed(f"cannot delete: {only.reason}", ref=only.ref, errors=failures)
    if failures:
        lines = "\n".join(f"  {err}" for err in failures)
        raise PruneFailed(
            f"{len(failures)} objects could not be deleted:\n{lines}", errors=failures
        )
    return changes


def _prune_order(entry: InventoryEntry) -> tuple[int, ObjectRef]:
    # Namespaced first, then cluster-scoped; CRDs and Namespaces go in the second batch.
    return (0 if entry.ref.namespace else 1), entry.ref


def _prune_one(
    client: KubeClient, entry: InventoryEntry, *, options: PruneOptions
) -> ChangeSetEntry | KubeError:
    ref = entry.ref
    try:
        live = client.get(
            api_version=entry.api_version, kind=ref.kind, name=ref.name, namespace=ref.namespace
        )
        kept = _kept(client, entry, live=live, options=options)
        if kept is not None:
            return kept
        deleted = client.delete(
            api_version=entry.api_version,
            kind=ref.kind,
            name=ref.name,
            namespace=ref.namespace,
            propagation=options.propagation,
            uid=entry.uid,
        )
    except PreconditionFailed:
        return ChangeSetEntry(ref, Action.SKIPPED, message=_RECREATED)
    except UnknownKind:
        return ChangeSetEntry(
            ref, Action.SKIPPED, message="kind no longer served; nothing to delete"
        )
    except ClusterUnreachable:
        raise
    except KubeError as exc:
        return exc
    if not deleted:
        return ChangeSetEntry(ref, Action.SKIPPED, message="already gone")
    return ChangeSetEntry(ref, Action.DELETED)


def _kept(
    client: KubeClient,
    entry: InventoryEntry,
    *,
    live: Mapping[str, Any] | None,
    options: PruneOptions,
) -> ChangeSetEntry | None:
    """Why this object is not deleted now, as its entry; None to delete it."""
    ref = entry.ref
    if live is None:
        return ChangeSetEntry(ref, Action.SKIPPED, message="already gone")
    meta = live.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    if annotations.get(PRUNE_ANNOTATION) == PRUNE_DISABLED:
        message = f"pruning disabled by annotation {PRUNE_ANNOTATION}: {PRUNE_DISABLED}"
        return ChangeSetEntry(ref, Action.SKIPPED, message=message)
    if meta.get("uid") != entry.uid:
        return ChangeSetEntry(ref, Action.SKIPPED, message=_RECREATED)
    if meta.get("deletionTimestamp"):
        return ChangeSetEntry(ref, Action.DELETED, message="was already being deleted")
    if (ref.group, ref.kind) == ("", "Namespace"):
        remaining = _foreign_objects(client, ref.name, concurrency=options.concurrency)
        if remaining:
            shown = ", ".join(str(r) for r in remaining[:3])
            more = f" and {len(remaining) - 3} more" if len(remaining) > 3 else ""
            message = f"namespace still holds {shown}{more}; will retry"
            return ChangeSetEntry(ref, Action.SKIPPED, message=message, record=entry)
    return None


def _foreign_objects(client: KubeClient, namespace: str, *, concurrency: int) -> list[ObjectRef]:
    """Objects in `namespace` that would be lost with it (see the module doc)."""
    kinds = [
        t
        for t in client.resource_types(namespaced=True, verb="list")
        if (t.group, t.kind) not in _SYSTEM_KINDS
    ]

    def scan(rtype: ResourceType) -> list[ObjectRef]:
        found: list[ObjectRef] = []
        for item in client.iter_list(
            api_version=rtype.api_version, kind=rtype.kind, namespace=namespace, metadata_only=True
        ):
            if _counts(rtype, item.get("metadata") or {}):
                found.append(
                    ObjectRef(
                        group=rtype.group,
                        kind=rtype.kind,
                        namespace=namespace,
                        name=str((item.get("metadata") or {}).get("name", "")),
                    )
                )
        return found

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return sorted(ref for refs in pool.map(scan, kinds) for ref in refs)


def _counts(rtype: ResourceType, meta: Mapping[str, Any]) -> bool:
    if meta.get("deletionTimestamp") or meta.get("ownerReferences"):
        return False
    return (rtype.group, rtype.kind, str(meta.get("name", ""))) not in _SYSTEM_OBJECTS
