"""ChangeSet summaries and the inventory it leaves."""

from __future__ import annotations

import pytest

from orchestrator.kube import Action, ChangeSet, ChangeSetEntry, Inventory, InventoryEntry, Step
from orchestrator.objectref import ObjectRef


def ref(name: str, kind: str = "ConfigMap") -> ObjectRef:
    return ObjectRef(group="", kind=kind, namespace="shop", name=name)


def record(name: str, digest: str = "d") -> InventoryEntry:
    return InventoryEntry(ref=ref(name), api_version="v1", digest=digest, uid=f"uid-{name}")


def test_summary_counts_in_a_fixed_order_and_skips_zeros() -> None:
    changes = ChangeSet(
        [
            ChangeSetEntry(ref("a"), Action.UNCHANGED),
            ChangeSetEntry(ref("b"), Action.CREATED),
            ChangeSetEntry(ref("c"), Action.DELETED),
            ChangeSetEntry(ref("d"), Action.UNCHANGED),
        ]
    )
    assert changes.summary() == "1 created, 2 unchanged, 1 deleted"
    assert changes.counts()[Action.CONFIGURED] == 0
    assert changes.changed
    assert ChangeSet().summary() == "no objects"
    assert not ChangeSet([ChangeSetEntry(ref("a"), Action.UNCHANGED)]).changed


def test_lines_leave_out_unchanged_objects_and_show_messages() -> None:
    changes = ChangeSet(
        [
            ChangeSetEntry(ref("a"), Action.UNCHANGED),
            ChangeSetEntry(ref("b"), Action.SKIPPED, message="pruning disabled"),
        ]
    )
    assert changes.lines() == ["ConfigMap/shop/b skipped (pruning disabled)"]


def test_a_later_entry_for_the_same_object_replaces_the_earlier() -> None:
    changes = ChangeSet()
    changes.add(ChangeSetEntry(ref("a"), Action.CREATED))
    changes.add(ChangeSetEntry(ref("a"), Action.CONFIGURED))
    assert len(changes) == 1
    assert [e.action for e in changes] == [Action.CONFIGURED]


def test_to_dict_is_plain_data() -> None:
    changes = ChangeSet([ChangeSetEntry(ref("a"), Action.CREATED)])
    changes.add_duration(Step.APPLY, 1.23456)
    assert changes.to_dict() == {
        "summary": {
            "created": 1,
            "configured": 0,
            "unchanged": 0,
            "deleted": 0,
            "skipped": 0,
        },
        "objects": [
            {
                "object": "ConfigMap/shop/a",
                "group": "",
                "kind": "ConfigMap",
                "namespace": "shop",
                "name": "a",
                "action": "created",
                "message": "",
            }
        ],
        "durations": {"apply": 1.235},
    }


def test_durations_add_up_per_step_and_keep_the_order_steps_run_in() -> None:
    changes = ChangeSet()
    changes.add_duration(Step.INVENTORY, 0.25)
    changes.add_duration(Step.APPLY, 2.0)
    changes.add_duration(Step.DRY_RUN, 1.0)
    changes.add_duration(Step.DRY_RUN, 0.5)  # the dry run of objects in new namespaces
    changes.add_duration(Step.INVENTORY, 0.25)

    assert list(changes.durations) == [Step.DRY_RUN, Step.APPLY, Step.INVENTORY]
    assert changes.durations == {Step.DRY_RUN: 1.5, Step.APPLY: 2.0, Step.INVENTORY: 0.5}
    assert changes.timings() == "dry-run 1.50s, apply 2.00s, inventory 0.50s"
    assert ChangeSet().timings() == ""


def test_timing_counts_a_block_that_raised() -> None:
    changes = ChangeSet()
    with pytest.raises(RuntimeError), changes.timing(Step.PRUNE):
        raise RuntimeError("delete refused")
    assert Step.PRUNE in changes.durations
    assert changes.durations[Step.PRUNE] >= 0.0
    assert Step.APPLY not in changes.durations


def test_inventory_of_a_changeset_keeps_only_entries_with_records() -> None:
    changes = ChangeSet(
        [
            ChangeSetEntry(ref("a"), Action.CREATED, record=record("a")),
            ChangeSetEntry(ref("b"), Action.DELETED),
            ChangeSetEntry(ref("c"), Action.SKIPPED, message="not empty", record=record("c")),
        ]
    )
    inventory = Inventory.of_changeset(changes, revision="abc", field_manager="orchestrator-prod")
    assert inventory.refs() == {ref("a"), ref("c")}
    assert inventory.revision == "abc"


def test_updated_lays_new_records_over_the_old_ones() -> None:
    old = Inventory(revision="r1", field_manager="m", entries=(record("a", "1"), record("b", "1")))
    changes = ChangeSet([ChangeSetEntry(ref("a"), Action.CONFIGURED, record=record("a", "2"))])
    merged = old.updated(changes)
    assert merged.revision == "r1"
    assert merged.get(ref("a")) == record("a", "2")
    assert merged.get(ref("b")) == record("b", "1")
    assert [e.ref for e in old.stale([ref("a")])] == [ref("b")]
