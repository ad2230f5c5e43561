"""One delivery end to end on the cluster side: read inventory, apply, prune, write inventory.

This is what the agent's reconcile calls after loading the manifests of a
commit. Each step fails with its own error (apply: UnknownKind, DryRunFailed,
FieldConflict, ApplyFailed; prune: PruneFailed; InventoryError), and the
inventory is written whatever happened after the first object was applied:

- apply failed part-way: the previous inventory with the records of what was
  applied laid over it (its revision stays the old one), and nothing pruned;
- prune failed: the new inventory, still holding what could not be deleted,
  so the next reconcile tries again.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.errors import KubeError
from orchestrator.kube.apply import ApplyOptions, apply_delivery
from orchestrator.kube.changeset import ChangeSet, Step
from orchestrator.kube.client import KubeClient
from orchestrator.kube.inventory import Inventory, InventoryStore
from orchestrator.kube.prune import PruneOptions, prune
from orchestrator.manifests import Manifest


def deliver(
    client: KubeClient,
    manifests: Sequence[Manifest],
    *,
    store: InventoryStore,
    revision: str,
    apply: ApplyOptions,
    prune_options: PruneOptions | None = None,
    into: ChangeSet | None = None,
) -> ChangeSet:
    """Apply `manifests` (the delivery at commit `revision`), prune, record what is applied.

    Entries and step durations go into `into` (or a new ChangeSet) as they
    happen, so a caller still has them when this raises part-way.
    """
    options = prune_options if prune_options is not None else PruneOptions()
    changes = into if into is not None else ChangeSet()
    with changes.timing(Step.INVENTORY):
        previous = store.read()
    try:
        apply_delivery(client, manifests, options=apply, inventory=previous, into=changes)
    except KubeError:
        if changes.changed:
            with changes.timing(Step.INVENTORY):
                store.write(previous.updated(changes))
        raise
    stale = previous.stale(m.ref for m in manifests)
    try:
        if stale:
            with changes.timing(Step.PRUNE):
                prune(client, stale, options=options, into=changes)
    finally:
        with changes.timing(Step.INVENTORY):
            store.write(
                Inventory.of_changeset(
                    changes,
                    revision=revision,
                    field_manager=apply.field_manager,
                    verified=previous.verified,
                )
            )
    return changes
