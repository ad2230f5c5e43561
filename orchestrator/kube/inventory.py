"""What an environment applied, stored in its own cluster: the basis of pruning and no-op skips.

Where: Secrets of type `orchestrator.dev/inventory` in the agent's namespace.
The head Secret is named `orchestrator-inventory-<environment>`; a large
inventory continues in shard Secrets named `<head>-<hash>`, where the hash is
that of the shard's own entries. A Secret rather than a ConfigMap, because the
entries hold content digests of the delivery's Secrets too, and a digest of a
short password is a way to guess it offline.

Format (each value of `data`, base64-decoded, is UTF-8 text):

    format       "1"
    revision     the commit the inventory describes
    fieldManager the field manager the objects were applied with
    serial       a hash of the whole inventory (to skip writing it unchanged)
    shards       JSON list of the shard Secrets' names, in order (head excluded)
    verified     JSON list of revisions this agent verified Healthy here, newest
                 first (at most VERIFIED_KEPT): the only source of rollback targets
    entries      one JSON object per line:
                 {"apiVersion","kind","namespace","name","digest","resourceVersion","uid","fields"}

A shard Secret holds `format` and `entries` only. Entries are sorted by object.

`digest` is the manifest's content digest when it was applied; `resourceVersion`
and `uid` are what the API server returned for our apply; `fields` is a hash of
our field manager's managedFields entry at that point. Together they let a
reconcile prove an object unchanged without a request per object.

Writing is safe against a crash part-way: shards are named by their content,
so a new shard never overwrites one the current head refers to; they are
written first, the head last, and only then are shards the head no longer
names deleted. A reader therefore sees either the old inventory or the new
one, and checks every shard against the hash in its name. A new revision with
the same objects rewrites the head only.

Why rollback targets come from here and not from notes: anyone who can push to
the repository can write a note saying "Healthy" on any commit, while this
Secret lives in the agent's own namespace and only the agent (and the cluster's
administrators) can write it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestrator.errors import InventoryError, KubeError
from orchestrator.kube.inventory_codec import Shard, decode, encode, shard_name, shard_names
from orchestrator.kube.inventory_model import (
    DEFAULT_SHARD_BYTES,
    FORMAT,
    INVENTORY_FIELD_MANAGER,
    LABEL,
    MANAGED_BY,
    SECRET_TYPE,
    VERIFIED_KEPT,
    Inventory,
    InventoryEntry,
)
from orchestrator.objectref import ObjectRef

if TYPE_CHECKING:
    from orchestrator.kube.client import KubeClient

__all__ = [
    "DEFAULT_SHARD_BYTES",
    "FORMAT",
    "INVENTORY_FIELD_MANAGER",
    "LABEL",
    "MANAGED_BY",
    "SECRET_TYPE",
    "VERIFIED_KEPT",
    "Inventory",
    "InventoryEntry",
    "InventoryStore",
    "Shard",
    "decode",
    "encode",
    "inventory_name",
    "shard_name",
    "shard_names",
]


def inventory_name(environment: str) -> str:
    return f"orchestrator-inventory-{environment}"


@dataclass(frozen=True, slots=True)
class _Stored:
    """What this store last read or wrote: the serial and the shard names."""

    serial: str
    shards: frozenset[str]


class InventoryStore:
    """Reads and writes one environment's inventory in its cluster."""

    def __init__(
        self,
        client: KubeClient,
        *,
        namespace: str,
        name: str,
        max_shard_bytes: int = DEFAULT_SHARD_BYTES,
        field_manager: str = INVENTORY_FIELD_MANAGER,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self.max_shard_bytes = max_shard_bytes
        self.field_manager = field_manager
        self._stored: _Stored | None = None

    @classmethod
    def for_environment(
        cls, client: KubeClient, *, namespace: str, environment: str
    ) -> InventoryStore:
        return cls(client, namespace=namespace, name=inventory_name(environment))

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(group="", kind="Secret", namespace=self.namespace, name=self.name)

    def read(self) -> Inventory:
        """The stored inventory; empty (no entries) when none was written yet."""
        try:
            head_data = self._get(self.name)
            if head_data is None:
                self._stored = _Stored(serial="", shards=frozenset())
                return Inventory()
            head = Shard(self.name, head_data)
            shards: list[Shard] = []
            for name in shard_names(head_data):
                data = self._get(name)
                if data is None:
                    raise ValueError(f"shard Secret {name} is missing")
                shards.append(Shard(name, data))
            inventory = decode(head, shards)
        except KubeError as exc:
            raise InventoryError(f"cannot read: {exc}", ref=self.ref) from exc
        except ValueError as exc:
            raise InventoryError(f"cannot read: {exc}", ref=self.ref) from None
        self._stored = _Stored(
            serial=head_data.get("serial", ""), shards=frozenset(s.name for s in shards)
        )
        return inventory

    def write(self, inventory: Inventory) -> bool:
        """Store `inventory`; False when the stored one already said exactly this.

        Shards the stored inventory already has (same content, same name) are
        not written again; a LIST for stray shards runs only when the set of
        shards changes (or nothing was read before).
        """
        shards = encode(inventory, name=self.name, max_shard_bytes=self.max_shard_bytes)
        head, rest = shards[0], shards[1:]
        stored = self._stored
        if stored is not None and head.data["serial"] == stored.serial:
            return False
        names = frozenset(s.name for s in rest)
        try:
            for shard in rest:
                if stored is None or shard.name not in stored.shards:
                    self._put(shard)
            self._put(head)
            self._stored = _Stored(serial=head.data["serial"], shards=names)
            if stored is None or names != stored.shards:
                self._delete_unreferenced({self.name, *names})
        except KubeError as exc:
            raise InventoryError(f"cannot write: {exc}", ref=self.ref) from exc
        return True

    def mark_verified(self, revision: str) -> bool:
        """Record that this agent verified `revision` Healthy here; False if it already was."""
        current = self.read()
        if current.verified[:1] == (revision,):
            return False
        return self.write(current.with_verified(revision))

    def delete(self) -> None:
        """Remove every Secret of this inventory (an environment that goes away)."""
        try:
            self._delete_unreferenced(set())
        except KubeError as exc:
            raise InventoryError(f"cannot delete: {exc}", ref=self.ref) from exc
        self._stored = _Stored(serial="", shards=frozenset())

    def _get(self, name: str) -> dict[str, str] | None:
        found = self.client.get(
            api_version="v1", kind="Secret", name=name, namespace=self.namespace
        )
        if found is None:
            return None
        if found.get("type") != SECRET_TYPE:
            raise ValueError(f"Secret {name} is of type {found.get('type')!r}, not {SECRET_TYPE}")
        raw = found.get("data") or {}
        try:
            return {k: base64.b64decode(v).decode("utf-8") for k, v in raw.items()}
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"Secret {name} data is not base64 UTF-8 text: {exc}") from None

    def _put(self, shard: Shard) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": SECRET_TYPE,
            "metadata": {
                "name": shard.name,
                "namespace": self.namespace,
                "labels": {**MANAGED_BY, LABEL: self.name},
            },
            "data": {
                key: base64.b64encode(value.encode("utf-8")).decode("ascii")
                for key, value in shard.data.items()
            },
        }
        self.client.apply(body, field_manager=self.field_manager, force=True)

    def _delete_unreferenced(self, keep: set[str]) -> None:
        for item in self.client.list(
            api_version="v1",
            kind="Secret",
            namespace=self.namespace,
            label_selector=f"{LABEL}={self.name}",
            metadata_only=True,
        ):
            name = str((item.get("metadata") or {}).get("name", ""))
            if name and name not in keep:
                self.client.delete(
                    api_version="v1", kind="Secret", name=name, namespace=self.namespace
                )
