"""The cluster side: apply, inventory, prune, diff (only `client` touches kubernetes).

    store = InventoryStore.for_environment(client, namespace="orchestrator", environment="prod")
    changes = deliver(
        client, manifests, store=store, revision=sha,
        apply=ApplyOptions.for_environment("prod", force=policy.force),
        prune_options=PruneOptions(enabled=policy.prune),
    )
    print(changes.summary())   # "3 created, 1 configured, 196 unchanged, 1 deleted"

The steps are usable one by one (`apply_delivery`, `prune`, `InventoryStore`,
`diff_delivery`); `deliver` is the order the agent runs them in.
"""

from orchestrator.kube.apply import ApplyOptions, apply_delivery
from orchestrator.kube.changeset import Action, ChangeSet, ChangeSetEntry, Step
from orchestrator.kube.delivery import deliver
from orchestrator.kube.diff import ObjectDiff, diff_delivery, render_json, render_text
from orchestrator.kube.inventory import Inventory, InventoryEntry, InventoryStore
from orchestrator.kube.prune import PRUNE_ANNOTATION, PruneOptions, prune

__all__ = [
    "PRUNE_ANNOTATION",
    "Action",
    "ApplyOptions",
    "ChangeSet",
    "ChangeSetEntry",
    "Inventory",
    "InventoryEntry",
    "InventoryStore",
    "ObjectDiff",
    "PruneOptions",
    "Step",
    "apply_delivery",
    "deliver",
    "diff_delivery",
    "prune",
    "render_json",
    "render_text",
]
