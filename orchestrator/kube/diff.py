"""What applying a commit would change: live vs. desired per object, as unified diff text or JSON.

`desired` is the API server's answer to a server-side dry-run apply with the
environment's field manager: defaults, admission and merging with other
managers' fields included, so the diff is what an apply would really do. Where
no dry run is possible yet (a custom resource whose CRD comes with the same
delivery, an object in a namespace the delivery creates) the manifest itself
stands in, and the entry says so.

Both sides are stripped of what changes on every write and says nothing about
intent: metadata.managedFields, resourceVersion, generation, uid,
creationTimestamp, selfLink, and status. Secret values (data, stringData, and
a kubectl last-applied-configuration annotation that would repeat them) are
masked: equal values show as `***`, changed ones as `*** (before)` and
`*** (after)`, so a diff says *that* a secret changed, never *what* it is.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from orchestrator.errors import ClusterUnreachable, KubeError, UnknownKind
from orchestrator.kube.client import KubeClient
from orchestrator.kube.inventory import Inventory
from orchestrator.manifests import Manifest
from orchestrator.objectref import ObjectRef

MASK = "***"
MASK_BEFORE = "*** (before)"
MASK_AFTER = "*** (after)"
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_STRIPPED_META = (
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
)

DiffAction = Literal["create", "update", "unchanged", "delete", "error"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectDiff:
    """One object's difference; `live`/`desired` are stripped and masked (None: absent)."""

    ref: ObjectRef
    action: DiffAction
    diff: str
    live: dict[str, Any] | None
    desired: dict[str, Any] | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "object": str(self.ref),
            "group": self.ref.group,
            "kind": self.ref.kind,
            "namespace": self.ref.namespace,
            "name": self.ref.name,
            "action": self.action,
            "note": self.note,
            "diff": self.diff,
            "live": self.live,
            "desired": self.desired,
        }


# -- pure parts ------------------------------------------------------------------------


def strip(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy without the fields that change on every write, and without status."""
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for key in _STRIPPED_META:
            meta.pop(key, None)
        if not meta.get("annotations"):
            meta.pop("annotations", None)
    return out


def is_secret(obj: Mapping[str, Any] | None) -> bool:
    return bool(obj) and obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"  # type: ignore[union-attr]


def mask_secrets(
    live: dict[str, Any] | None, desired: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Copies of a Secret's two sides with every value masked (other kinds unchanged)."""
    if not (is_secret(live) or is_secret(desired)):
        return live, desired
    live = copy.deepcopy(live)
    desired = copy.deepcopy(desired)
    for section in ("data", "stringData"):
        before = _section(live, section)
        after = _section(desired, section)
        for key in set(before) | set(after):
            if key in before and key in after and before[key] != after[key]:
                before[key], after[key] = MASK_BEFORE, MASK_AFTER
            else:
                if key in before:
                    before[key] = MASK
                if key in after:
                    after[key] = MASK
    for side in (live, desired):
        annotations = ((side or {}).get("metadata") or {}).get("annotations") or {}
        if _LAST_APPLIED in annotations:
            annotations[_LAST_APPLIED] = MASK
    return live, desired


def _section(obj: dict[str, Any] | None, name: str) -> dict[str, Any]:
    if obj is None:
        return {}
    value = obj.get(name)
    return value if isinstance(value, dict) else {}


def to_yaml(obj: Mapping[str, Any] | None) -> str:
    if obj is None:
        return ""
    return yaml.safe_dump(dict(obj), sort_keys=True, default_flow_style=False, allow_unicode=True)


def unified(
    ref: ObjectRef, *, live: Mapping[str, Any] | None, desired: Mapping[str, Any] | None
) -> str:
    """The unified diff from live to desired ("" when equal)."""
    before = to_yaml(live).splitlines(keepends=True)
    after = to_yaml(desired).splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(
            before,
            after,
            fromfile=f"live/{ref}" if live is not None else "/dev/null",
            tofile=f"desired/{ref}" if desired is not None else "/dev/null",
        )
    )


def compare(
    ref: ObjectRef,
    *,
    live: Mapping[str, Any] | None,
    desired: Mapping[str, Any] | None,
    note: str = "",
) -> ObjectDiff:
    """Strip, mask and diff two raw sides of one object."""
    left = strip(live) if live is not None else None
    right = strip(desired) if desired is not None else None
    left, right = mask_secrets(left, right)
    text = unified(ref, live=left, desired=right)
    action: DiffAction
    if left is None and right is None:
        action = "unchanged"
    elif left is None:
        action = "create"
    elif right is None:
        action = "delete"
    else:
        action = "update" if text else "unchanged"
    return ObjectDiff(ref=ref, action=action, diff=text, live=left, desired=right, note=note)


def render_text(diffs: Sequence[ObjectDiff], *, show_unchanged: bool = False) -> str:
    """The diffs one after another, as `git diff` would show them."""
    parts: list[str] = []
    for item in diffs:
        if item.action == "unchanged" and not show_unchanged:
            continue
        header = f"# {item.ref}: {item.action}" + (f" ({item.note})" if item.note else "")
        parts.append(header + "\n" + item.diff)
    return "".join(part if part.endswith("\n") else part + "\n" for part in parts)


def render_json(diffs: Sequence[ObjectDiff]) -> str:
    return json.dumps([d.to_dict() for d in diffs], indent=2, sort_keys=False)


# -- against a cluster -----------------------------------------------------------------


def diff_delivery(
    client: KubeClient,
    manifests: Sequence[Manifest],
    *,
    field_manager: str,
    force: bool = False,
    inventory: Inventory | None = None,
    concurrency: int = 8,
) -> list[ObjectDiff]:
    """Per object of `manifests`: live vs. the server's dry-run result; nothing is written.

    With `inventory`, objects it records that are no longer in `manifests` come
    last as deletions (what pruning would remove, annotations aside).
    """
    creates_namespaces = {
        m.ref.name for m in manifests if (m.ref.group, m.ref.kind) == ("", "Namespace")
    }

    def one(manifest: Manifest) -> ObjectDiff:
        return _diff_one(
            client,
            manifest,
            field_manager=field_manager,
            force=force,
            creates_namespaces=creates_namespaces,
        )

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = list(pool.map(one, manifests))
        if inventory is not None:
            stale = inventory.stale(m.ref for m in manifests)
            results += list(pool.map(lambda e: _diff_gone(client, e.ref, e.api_version), stale))
    return results


def _diff_one(
    client: KubeClient,
    manifest: Manifest,
    *,
    field_manager: str,
    force: bool,
    creates_namespaces: set[str],
) -> ObjectDiff:
    """Live against the dry run's answer; the manifest as is where no dry run can be had."""
    ref = manifest.ref
    try:
        live = client.get(
            api_version=manifest.api_version, kind=ref.kind, name=ref.name, namespace=ref.namespace
        )
    except UnknownKind:
        note = "kind not served (yet): the manifest as is"
        return compare(ref, live=None, desired=manifest.body, note=note)
    try:
        desired = client.apply(
            manifest.body, field_manager=field_manager, force=force, dry_run=True
        )
    except ClusterUnreachable:
        raise
    except KubeError as exc:
        if live is None and ref.namespace in creates_namespaces:
            note = "namespace is created by this delivery: the manifest as is"
            return compare(ref, live=None, desired=manifest.body, note=note)
        left, _ = mask_secrets(strip(live) if live else None, None)
        return ObjectDiff(
            ref=ref, action="error", diff="", live=left, desired=None, note=exc.reason
        )
    return compare(ref, live=live, desired=desired)


def _diff_gone(client: KubeClient, ref: ObjectRef, api_version: str) -> ObjectDiff:
    """An object that left the delivery: what pruning would delete, if it is still there."""
    try:
        live = client.get(
            api_version=api_version, kind=ref.kind, name=ref.name, namespace=ref.namespace
        )
    except UnknownKind:
        live = None
    if live is None:
        note = "left the delivery; already gone"
        return ObjectDiff(ref=ref, action="unchanged", diff="", live=None, desired=None, note=note)
    return compare(ref, live=live, desired=None, note="left the delivery: pruning would delete it")
