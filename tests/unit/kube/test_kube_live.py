"""The managed-fields fingerprint that proves an object untouched without reading it whole."""

from __future__ import annotations

from typing import Any

from orchestrator.kube.live import fields_fingerprint, live_object


def managed(**changes: Any) -> list[dict[str, Any]]:
    ours = {
        "manager": "orchestrator-prod",
        "operation": "Apply",
        "apiVersion": "apps/v1",
        "time": "2026-01-01T00:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {"f:replicas": {}}},
    }
    status = {
        "manager": "kube-controller-manager",
        "operation": "Update",
        "subresource": "status",
        "apiVersion": "apps/v1",
        "time": "2026-01-01T00:00:05Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:status": {"f:replicas": {}}},
    }
    return [{**ours, **changes}, status]


def test_only_our_apply_entry_counts() -> None:
    base = fields_fingerprint(managed(), manager="orchestrator-prod")
    assert base
    later_status = managed()
    later_status[1]["time"] = "2026-01-01T01:00:00Z"
    assert fields_fingerprint(later_status, manager="orchestrator-prod") == base


def test_fields_lost_to_another_manager_change_it() -> None:
    base = fields_fingerprint(managed(), manager="orchestrator-prod")
    assert fields_fingerprint(managed(fieldsV1={}), manager="orchestrator-prod") != base
    assert (
        fields_fingerprint(managed(time="2026-02-01T00:00:00Z"), manager="orchestrator-prod")
        != base
    )


def test_no_entry_of_ours_gives_an_empty_fingerprint() -> None:
    assert fields_fingerprint(managed(), manager="someone-else") == ""
    assert fields_fingerprint(managed(operation="Update"), manager="orchestrator-prod") == ""
    assert fields_fingerprint(None, manager="orchestrator-prod") == ""


def test_live_object_reads_metadata() -> None:
    obj = {
        "metadata": {
            "uid": "u1",
            "resourceVersion": "42",
            "deletionTimestamp": "2026-01-01T00:00:00Z",
            "managedFields": managed(),
        }
    }
    live = live_object(obj, manager="orchestrator-prod")
    assert (live.uid, live.resource_version, live.deleting) == ("u1", "42", True)
    assert live.fields == fields_fingerprint(managed(), manager="orchestrator-prod")
