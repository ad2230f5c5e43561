"""What the cluster holds of a delivery's objects: one metadata-only list per kind and namespace.

The apply engine needs, for every object of a delivery, whether it exists and
whether anyone changed it since our last apply. A metadata-only LIST
(PartialObjectMetadataList) per (kind, namespace) answers both for hundreds of
objects at once: `uid` and `resourceVersion` say whether it is the object we
applied, untouched; the hash of our field manager's `managedFields` entry says
whether the fields we set are still ours, even after a controller wrote status
(which changes `resourceVersion` but not our entry).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import Forbidden
from orchestrator.kube.client import KubeClient, ResourceType
from orchestrator.objectref import ObjectRef


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveObject:
    """The metadata of one live object that the engine looks at.

    Of `managedFields` only the fingerprint of our field manager's entry is kept
    (`fields_fingerprint`): the entries themselves, nested dicts of every field
    every manager owns, were most of the memory of a snapshot of thousands of
    objects, held for a whole reconcile.
    """

    uid: str
    resource_version: str
    fields: str = ""
    deleting: bool = False


def fields_fingerprint(managed_fields: object, *, manager: str) -> str:
    """A hash of what `manager` owns by server-side apply, or "" when it owns nothing.

    Only the manager's Apply entries of the main resource count (not status
    written by a subresource); their `time` is part of the hash, so a
    re-apply under the same name with other values changes it too.
    """
    if not isinstance(managed_fields, Sequence):
        return ""
    mine = [
        entry
        for entry in managed_fields
        if isinstance(entry, Mapping)
        and entry.get("manager") == manager
        and entry.get("operation") == "Apply"
        and not entry.get("subresource")
    ]
    if not mine:
        return ""
    mine.sort(key=lambda entry: str(entry.get("apiVersion", "")))
    canonical = json.dumps(mine, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def live_object(obj: Mapping[str, Any], *, manager: str) -> LiveObject:
    """The metadata that matters of a live object, a metadata-list item or an apply response;
    `manager` is the field manager whose managed fields are fingerprinted."""
    meta = obj.get("metadata") or {}
    return LiveObject(
        uid=str(meta.get("uid") or ""),
        resource_version=str(meta.get("resourceVersion") or ""),
        fields=fields_fingerprint(meta.get("managedFields"), manager=manager),
        deleting=bool(meta.get("deletionTimestamp")),
    )


def snapshot(
    client: KubeClient,
    scopes: Iterable[tuple[ResourceType, str]],
    *,
    manager: str,
    wanted: set[ObjectRef] | None = None,
    concurrency: int = 8,
) -> dict[ObjectRef, LiveObject]:
    """Live metadata of every object of the given (kind, namespace) scopes.

    `namespace` is "" for cluster-scoped kinds; `manager` is the field manager
    whose managed fields each object's fingerprint covers. With `wanted`, only those refs
    are kept (the lists still cost one request per scope, whatever their size).
    A namespace that does not exist lists as empty.
    """
    unique = sorted(set(scopes), key=lambda s: (s[0].group, s[0].kind, s[1]))

    def read(scope: tuple[ResourceType, str]) -> dict[ObjectRef, LiveObject]:
        rtype, namespace = scope
        found: dict[ObjectRef, LiveObject] = {}
        items = client.iter_list(
            api_version=rtype.api_version,
            kind=rtype.kind,
            namespace=namespace if rtype.namespaced else "",
            metadata_only=True,
        )
        try:
            listed = list(items)
        except Forbidden:
            # RBAC may refuse the list but not the apply (or refuse both): then the
            # live state is unknown, and each object's own dry run says whether it
            # may be written, naming it, instead of one refusal for a whole kind.
            return found
        for item in listed:
            meta = item.get("metadata") or {}
            ref = ObjectRef(
                group=rtype.group,
                kind=rtype.kind,
                namespace=str(meta.get("namespace") or "") if rtype.namespaced else "",
                name=str(meta.get("name") or ""),
            )
            if wanted is None or ref in wanted:
                found[ref] = live_object(item, manager=manager)
        return found

    result: dict[ObjectRef, LiveObject] = {}
    if not unique:
        return result
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(unique)))) as pool:
        for part in pool.map(read, unique):
            result.update(part)
    return result
