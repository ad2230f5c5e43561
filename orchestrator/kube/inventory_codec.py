"""An inventory to Secrets' data and back: the head, content-named shards, and checks.

The format is described in `orchestrator.kube.inventory`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orchestrator.kube.inventory_model import (
    DEFAULT_SHARD_BYTES,
    FORMAT,
    Inventory,
    InventoryEntry,
)


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
