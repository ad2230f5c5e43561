"""Inventory encoding: JSON lines, shards by size, a serial that ties the shards together."""

from __future__ import annotations

import json

import pytest

from orchestrator.kube.inventory import (
    FORMAT,
    Inventory,
    InventoryEntry,
    decode,
    encode,
    shard_names,
)
from orchestrator.objectref import ObjectRef


def entry(index: int, *, group: str = "apps", kind: str = "Deployment") -> InventoryEntry:
    api_version = f"{group}/v1" if group else "v1"
    return InventoryEntry(
        ref=ObjectRef(group=group, kind=kind, namespace="shop", name=f"app-{index:04d}"),
        api_version=api_version,
        digest="a" * 64,
        resource_version=str(1000 + index),
        uid=f"00000000-0000-0000-0000-{index:012d}",
        fields="f" * 32,
    )


def inventory(count: int) -> Inventory:
    return Inventory(
        revision="0123abcd",
        field_manager="orchestrator-prod",
        entries=tuple(map(entry, range(count))),
    )


def test_small_inventory_is_one_secret() -> None:
    shards = encode(inventory(3), name="orchestrator-inventory-prod")
    assert [s.name for s in shards] == ["orchestrator-inventory-prod"]
    head = shards[0].data
    assert head["format"] == FORMAT
    assert head["revision"] == "0123abcd"
    assert head["fieldManager"] == "orchestrator-prod"
    assert shard_names(head) == []
    lines = head["entries"].splitlines()
    assert len(lines) == 3
    assert json.loads(lines[0]) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "namespace": "shop",
        "name": "app-0000",
        "digest": "a" * 64,
        "resourceVersion": "1000",
        "uid": "00000000-0000-0000-0000-000000000000",
        "fields": "f" * 32,
    }
    assert decode(head) == inventory(3)


def test_large_inventory_is_sharded_under_the_size_limit_and_round_trips() -> None:
    original = inventory(200)
    shards = encode(original, name="inv", max_shard_bytes=4096)
    assert len(shards) > 1
    for shard in shards:
        assert len(shard.data["entries"].encode()) <= 4096
    assert shard_names(shards[0].data) == [s.name for s in shards[1:]]
    serial = shards[0].data["serial"]
    assert all(s.data["serial"] == serial for s in shards)
    assert all(s.name.startswith(f"inv-{serial}-") for s in shards[1:])
    assert decode(shards[0].data, [s.data for s in shards[1:]]) == original


def test_one_entry_larger_than_a_shard_still_gets_its_own() -> None:
    shards = encode(inventory(2), name="inv", max_shard_bytes=10)
    assert len(shards) == 2
    assert decode(shards[0].data, [shards[1].data]) == inventory(2)


def test_serial_depends_on_content_only() -> None:
    first = encode(inventory(5), name="inv")[0].data["serial"]
    assert encode(inventory(5), name="inv")[0].data["serial"] == first
    changed = Inventory(
        revision="other", field_manager="orchestrator-prod", entries=inventory(5).entries
    )
    assert encode(changed, name="inv")[0].data["serial"] != first


def test_entries_are_stored_in_ref_order_whatever_the_input_order() -> None:
    forwards = Inventory(entries=(entry(1), entry(2)))
    backwards = Inventory(entries=(entry(2), entry(1)))
    assert encode(forwards, name="i") == encode(backwards, name="i")


def test_core_group_entries_round_trip() -> None:
    core = Inventory(entries=(entry(1, group="", kind="ConfigMap"),))
    decoded = decode(encode(core, name="i")[0].data)
    assert decoded.entries[0].ref.group == ""
    assert decoded.entries[0].api_version == "v1"


def test_a_shard_from_another_write_is_refused() -> None:
    old = encode(inventory(200), name="inv", max_shard_bytes=4096)
    new = encode(inventory(201), name="inv", max_shard_bytes=4096)
    with pytest.raises(ValueError, match="serial"):
        decode(new[0].data, [old[1].data, *[s.data for s in new[2:]]])


@pytest.mark.parametrize(
    ("head", "problem"),
    [
        ({"format": "2"}, "format"),
        ({"format": FORMAT, "serial": "s", "shards": "not json"}, "shards"),
        ({"format": FORMAT, "serial": "s", "shards": '["a"]'}, "shard"),
        ({"format": FORMAT, "serial": "s", "entries": "{}\n"}, "line 1"),
        ({"format": FORMAT, "serial": "s", "entries": "[1]\n"}, "line 1"),
    ],
)
def test_damaged_data_is_refused(head: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        decode(head)
