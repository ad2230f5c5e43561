"""The inventory as data: what an environment applied, one entry per object.

`orchestrator.kube.inventory` says where and how it is stored; this module
holds the values and what a reconcile asks of them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from orchestrator.objectref import ObjectRef

if TYPE_CHECKING:
    from orchestrator.kube.changeset import ChangeSet

FORMAT = "1"
SECRET_TYPE = "orchestrator.dev/inventory"  # noqa: S105 (a type name, not a password)
LABEL = "orchestrator.dev/inventory"
MANAGED_BY = {"app.kubernetes.io/managed-by": "orchestrator"}
# A Secret holds at most 1 MiB; half of it leaves room for metadata and growth.
DEFAULT_SHARD_BYTES = 512 * 1024
INVENTORY_FIELD_MANAGER = "orchestrator-inventory"
VERIFIED_KEPT = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryEntry:
    """One object the environment applied, and what the cluster said after."""

    ref: ObjectRef
    api_version: str
    digest: str = ""
    resource_version: str = ""
    uid: str = ""
    fields: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "apiVersion": self.api_version,
                "kind": self.ref.kind,
                "namespace": self.ref.namespace,
                "name": self.ref.name,
                "digest": self.digest,
                "resourceVersion": self.resource_version,
                "uid": self.uid,
                "fields": self.fields,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, line: str) -> InventoryEntry:
        raw = json.loads(line)
        if not isinstance(raw, dict):
            raise ValueError("an entry is not a JSON object")
        values = [raw.get(key, "") for key in ENTRY_KEYS]
        if not all(isinstance(v, str) for v in values):
            bad = [k for k, v in zip(ENTRY_KEYS, values, strict=True) if not isinstance(v, str)]
            raise ValueError(f"entry field(s) {', '.join(bad)} not a string")
        api_version, kind, namespace, name, digest, resource_version, uid, fields = values
        # Thousands of entries share a few apiVersions, kinds and namespaces: one string each.
        api_version, kind, namespace = map(sys.intern, (api_version, kind, namespace))
        group = sys.intern(api_version.rpartition("/")[0])
        if not (api_version and kind and name):
            raise ValueError("entry lacks apiVersion, kind or name")
        return cls(
            ref=ObjectRef(
                group=group,
                kind=kind,
                namespace=namespace,
                name=name,
            ),
            api_version=api_version,
            digest=digest,
            resource_version=resource_version,
            uid=uid,
            fields=fields,
        )


ENTRY_KEYS = (
    "apiVersion",
    "kind",
    "namespace",
    "name",
    "digest",
    "resourceVersion",
    "uid",
    "fields",
)


def ref_key(entry: InventoryEntry) -> tuple[str, str, str, str]:
    ref = entry.ref
    return ref.group, ref.kind, ref.namespace, ref.name


@dataclass(frozen=True, slots=True, kw_only=True)
class Inventory:
    """The objects an environment applied at `revision`, keyed by ref."""

    revision: str = ""
    field_manager: str = ""
    entries: tuple[InventoryEntry, ...] = ()
    verified: tuple[str, ...] = ()
    _index: dict[ObjectRef, InventoryEntry] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        entries = tuple(sorted(self.entries, key=ref_key))
        object.__setattr__(self, "entries", entries)
        self._index.update((e.ref, e) for e in entries)

    def get(self, ref: ObjectRef) -> InventoryEntry | None:
        return self._index.get(ref)

    def __contains__(self, ref: object) -> bool:
        return ref in self._index

    def __len__(self) -> int:
        return len(self.entries)

    def refs(self) -> set[ObjectRef]:
        return set(self._index)

    def stale(self, keep: Iterable[ObjectRef]) -> list[InventoryEntry]:
        """Entries whose objects are not in `keep`: what pruning considers."""
        kept = set(keep)
        return [e for e in self.entries if e.ref not in kept]

    @classmethod
    def of_changeset(
        cls,
        changes: ChangeSet,
        *,
        revision: str,
        field_manager: str,
        verified: tuple[str, ...] = (),
    ) -> Inventory:
        """The inventory a delivery leaves: the record of every entry that has one."""
        return cls(
            revision=revision,
            field_manager=field_manager,
            entries=tuple(e.record for e in changes if e.record is not None),
            verified=verified,
        )

    def with_verified(self, revision: str, *, keep: int = VERIFIED_KEPT) -> Inventory:
        """This inventory with `revision` first among the verified ones."""
        rest = tuple(r for r in self.verified if r != revision)
        return replace(self, verified=(revision, *rest)[:keep])

    def updated(self, changes: ChangeSet) -> Inventory:
        """This inventory with the records of `changes` laid over it (after a failure).

        Objects the changes applied take their new record; the others keep the
        old one, so nothing applied before is forgotten and left unpruned.
        """
        merged = dict(self._index)
        for entry in changes:
            if entry.record is not None:
                merged[entry.ref] = entry.record
        return Inventory(
            revision=self.revision,
            field_manager=self.field_manager,
            entries=tuple(merged.values()),
            verified=self.verified,
        )


# -- encoding (pure) -----------------------------------------------------------------
