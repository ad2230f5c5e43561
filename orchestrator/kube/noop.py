"""The no-op fast path: proving an object unchanged from the inventory and live metadata.

Proof: our last apply recorded this very manifest (digest), the live object
is the one it produced (uid), and since then either nobody wrote it
(resourceVersion) or nobody touched what we own (the hash of our
managedFields entry; a controller writing status changes only the former).
An object proven unchanged costs no request at all.
"""

from __future__ import annotations

from orchestrator.kube.changeset import Action, ChangeSetEntry
from orchestrator.kube.inventory import InventoryEntry
from orchestrator.kube.live import LiveObject
from orchestrator.manifests import Manifest


def unchanged(
    manifest: Manifest,
    *,
    record: InventoryEntry | None,
    live: LiveObject | None,
    inventory_manager: str,
    field_manager: str,
) -> ChangeSetEntry | None:
    """An unchanged entry if `record` (the inventory's) and `live` prove it, else None."""
    if (
        record is None
        or live is None
        or live.deleting
        or inventory_manager != field_manager
        or record.digest != manifest.digest
        or record.api_version != manifest.api_version
        or not record.uid
        or live.uid != record.uid
    ):
        return None
    if live.resource_version == record.resource_version:
        proof = "resourceVersion as applied"
    elif record.fields and live.fields == record.fields:
        proof = "managed fields as applied"
    else:
        return None
    return ChangeSetEntry(manifest.ref, Action.UNCHANGED, message=proof, record=record)
