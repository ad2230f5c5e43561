"""Inventory encoding: JSON lines, shards by size and named by their content."""

from __future__ import annotations

import json

import pytest

from orchestrator.kube.inventory import (
    FORMAT,
    Inventory,
    InventoryEntry,
    Shard,
    decode,
    encode,
    shard_name,
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
    assert decode(shards[0]) == inventory(3)


def test_large_inventory_is_sharded_under_the_size_limit_and_round_trips() -> None:
    original = inventory(200)
    shards = encode(original, name="inv", max_shard_bytes=4096)
    assert len(shards) > 1
    for shard in shards:
        assert len(shard.data["entries"].encode()) <= 4096
    assert shard_names(shards[0].data) == [s.name for s in shards[1:]]
    for shard in shards[1:]:
        assert shard.name == shard_name("inv", shard.data["entries"])
        assert set(shard.data) == {"format", "entries"}
    assert decode(shards[0], shards[1:]) == original


def test_one_entry_larger_than_a_shard_still_gets_its_own() -> None:
    shards = encode(inventory(2), name="inv", max_shard_bytes=10)
    assert len(shards) == 2
    assert decode(shards[0], shards[1:]) == inventory(2)


def test_serial_depends_on_content_only() -> None:
    first = encode(inventory(5), name="inv")[0].data["serial"]
    assert encode(inventory(5), name="inv")[0].data["serial"] == first
    entries = inventory(5).entries
    changed = Inventory(revision="other", field_manager="orchestrator-prod", entries=entries)
    assert encode(changed, name="inv")[0].data["serial"] != first


def test_a_new_revision_of_the_same_objects_keeps_every_shard() -> None:
    before = encode(inventory(200), name="inv", max_shard_bytes=4096)
    moved = Inventory(
        revision="next", field_manager="orchestrator-prod", entries=inventory(200).entries
    )
    after = encode(moved, name="inv", max_shard_bytes=4096)
    assert [s.name for s in after[1:]] == [s.name for s in before[1:]]
    assert after[0].data["serial"] != before[0].data["serial"]


def test_entries_are_stored_in_ref_order_whatever_the_input_order() -> None:
    forwards = Inventory(entries=(entry(1), entry(2)))
    backwards = Inventory(entries=(entry(2), entry(1)))
    assert encode(forwards, name="i") == encode(backwards, name="i")


def test_core_group_entries_round_trip() -> None:
    core = Inventory(entries=(entry(1, group="", kind="ConfigMap"),))
    decoded = decode(encode(core, name="i")[0])
    assert decoded.entries[0].ref.group == ""
    assert decoded.entries[0].api_version == "v1"


def test_a_shard_that_is_not_what_the_head_names_is_refused() -> None:
    old = encode(inventory(200), name="inv", max_shard_bytes=4096)
    shifted = Inventory(entries=tuple(map(entry, range(1, 201))))
    new = encode(shifted, name="inv", max_shard_bytes=4096)
    assert old[1].name != new[1].name
    with pytest.raises(ValueError, match="head names"):
        decode(new[0], [old[1], *new[2:]])
    tampered = Shard(new[1].name, {**new[1].data, "entries": old[1].data["entries"]})
    with pytest.raises(ValueError, match="does not hold what its name says"):
        decode(new[0], [tampered, *new[2:]])


@pytest.mark.parametrize(
    ("head", "problem"),
    [
        ({"format": "2"}, "format"),
        ({"format": FORMAT, "shards": "not json"}, "shards"),
        ({"format": FORMAT, "shards": '["a"]'}, "head names"),
        ({"format": FORMAT, "entries": "{}\n"}, "line 1"),
        ({"format": FORMAT, "entries": "[1]\n"}, "line 1"),
    ],
)
def test_damaged_data_is_refused(head: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        decode(Shard("inv", head))


# --- verified revisions: the rollback targets ---------------------------------------------


def test_verified_revisions_round_trip_newest_first_and_bounded() -> None:
    inv = inventory(2)
    for number in range(25):
        inv = inv.with_verified(f"rev-{number:02d}")
    inv = inv.with_verified("rev-10")  # verified again: moves to the front, once
    assert inv.verified[:3] == ("rev-10", "rev-24", "rev-23")
    assert len(inv.verified) == 20
    assert inv.verified.count("rev-10") == 1
    (head,) = encode(inv, name="orchestrator-inventory-prod")
    assert decode(head).verified == inv.verified


def test_marking_a_revision_verified_changes_the_serial() -> None:
    (before,) = encode(inventory(1), name="inv")
    (after,) = encode(inventory(1).with_verified("rev-1"), name="inv")
    assert before.data["serial"] != after.data["serial"]


def test_an_inventory_of_an_older_agent_has_no_verified_revisions() -> None:
    (head,) = encode(inventory(1), name="inv")
    del head.data["verified"]
    assert decode(head).verified == ()


def test_a_mangled_verified_list_is_refused() -> None:
    (head,) = encode(inventory(1), name="inv")
    head.data["verified"] = '{"rev": 1}'
    with pytest.raises(ValueError, match="'verified' is not a list"):
        decode(head)
