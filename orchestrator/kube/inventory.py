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
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from orchestrator.errors import InventoryError, KubeError
from orchestrator.objectref import ObjectRef

if TYPE_CHECKING:
    from orchestrator.kube.changeset import ChangeSet
    from orchestrator.kube.client import KubeClient

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
        values = [raw.get(key, "") for key in _KEYS]
        if not all(isinstance(v, str) for v in values):
            bad = [k for k, v in zip(_KEYS, values, strict=True) if not isinstance(v, str)]
            raise ValueError(f"entry field(s) {', '.join(bad)} not a string")
        api_version, kind, namespace, name, digest, resource_version, uid, fields = values
        if not (api_version and kind and name):
            raise ValueError("entry lacks apiVersion, kind or name")
        return cls(
            ref=ObjectRef(
                group=api_version.rpartition("/")[0],
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


_KEYS = ("apiVersion", "kind", "namespace", "name", "digest", "resourceVersion", "uid", "fields")


def _ref_key(entry: InventoryEntry) -> tuple[str, str, str, str]:
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
        entries = tuple(sorted(self.entries, key=_ref_key))
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


@dataclass(frozen=True, slots=True)
class Shard:
    """The data of one Secret: `name` and decoded key -> text."""

    name: str
    data: dict[str, str]


def _hash(*parts: str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode("utf-8"))
        hasher.update(b"\0")
    return hasher.hexdigest()


def shard_name(head: str, entries: str) -> str:
    """The name of the shard holding `entries`: the head's name and a hash of them."""
    return f"{head}-{_hash(entries)[:16]}"


def encode(
    inventory: Inventory, *, name: str, max_shard_bytes: int = DEFAULT_SHARD_BYTES
) -> list[Shard]:
    """The Secrets that hold `inventory`, the head first.

    Entries are split in order, each shard's `entries` at most `max_shard_bytes`
    (a single entry larger than that still gets a shard of its own).
    """
    chunks: list[list[str]] = [[]]
    size = 0
    for entry in inventory.entries:
        line = entry.to_json()
        cost = len(line.encode("utf-8")) + 1
        if chunks[-1] and size + cost > max_shard_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += cost
    texts = ["".join(f"{line}\n" for line in chunk) for chunk in chunks]
    names = [shard_name(name, text) for text in texts[1:]]
    verified = json.dumps(list(inventory.verified))
    head = Shard(
        name=name,
        data={
            "format": FORMAT,
            "revision": inventory.revision,
            "fieldManager": inventory.field_manager,
            "serial": _hash(FORMAT, inventory.revision, inventory.field_manager, verified, *texts)[
                :16
            ],
            "shards": json.dumps(names),
            "verified": verified,
            "entries": texts[0],
        },
    )
    rest = [
        Shard(name=shard, data={"format": FORMAT, "entries": text})
        for shard, text in zip(names, texts[1:], strict=True)
    ]
    return [head, *rest]


def shard_names(head: Mapping[str, str]) -> list[str]:
    """The names of the shards a head Secret's data refers to."""
    try:
        names = json.loads(head.get("shards") or "[]")
    except ValueError:
        raise ValueError("field 'shards' is not JSON") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError("field 'shards' is not a list of names")
    return names


def decode(head: Shard, shards: Sequence[Shard] = ()) -> Inventory:
    """The inventory in a head Secret's data and its shards (in the head's order).

    Raises ValueError when the data is not an inventory this version can read,
    or a shard is not the one the head names (its content does not match).
    """
    if head.data.get("format") != FORMAT:
        raise ValueError(f"unknown inventory format {head.data.get('format')!r}")
    names = shard_names(head.data)
    if [s.name for s in shards] != names:
        raise ValueError(f"head names shards {names}, got {[s.name for s in shards]}")
    entries: list[InventoryEntry] = []
    for shard in [head, *shards]:
        text = shard.data.get("entries") or ""
        if shard is not head and shard_name(head.name, text) != shard.name:
            raise ValueError(f"shard {shard.name} does not hold what its name says")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entries.append(InventoryEntry.from_json(line))
            except ValueError as exc:
                raise ValueError(f"{shard.name} line {number}: {exc}") from None
    return Inventory(
        revision=head.data.get("revision", ""),
        field_manager=head.data.get("fieldManager", ""),
        entries=tuple(entries),
        verified=_verified(head.data),
    )


def _verified(head: Mapping[str, str]) -> tuple[str, ...]:
    try:
        found = json.loads(head.get("verified") or "[]")
    except ValueError:
        raise ValueError("field 'verified' is not JSON") from None
    if not isinstance(found, list) or not all(isinstance(r, str) for r in found):
        raise ValueError("field 'verified' is not a list of revisions")
    return tuple(found)


# -- storage ---------------------------------------------------------------------------


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
