"""Diff pieces on plain values: stripping, masking, the unified text."""

from __future__ import annotations

from typing import Any

from orchestrator.kube.diff import MASK, MASK_AFTER, MASK_BEFORE, compare, mask_secrets, strip
from orchestrator.objectref import ObjectRef

REF = ObjectRef(group="", kind="Secret", namespace="shop", name="creds")


def secret(data: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "shop", **extra},
        "type": "Opaque",
        "data": data,
    }


def test_strip_removes_write_bookkeeping_and_status() -> None:
    live: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "a",
            "uid": "u",
            "resourceVersion": "7",
            "generation": 2,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "managedFields": [{"manager": "m"}],
            "labels": {"app": "a"},
        },
        "status": {"phase": "x"},
        "data": {"k": "v"},
    }
    assert strip(live) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "labels": {"app": "a"}},
        "data": {"k": "v"},
    }
    assert live["metadata"]["uid"] == "u"  # a copy, the input is untouched


def test_secret_values_are_masked_and_changes_stay_visible() -> None:
    live = secret({"same": "c2FtZQ==", "changed": "b2xk", "gone": "eA=="})
    desired = secret({"same": "c2FtZQ==", "changed": "bmV3", "added": "eQ=="})
    left, right = mask_secrets(live, desired)
    assert left is not None
    assert right is not None
    assert left["data"] == {"same": MASK, "changed": MASK_BEFORE, "gone": MASK}
    assert right["data"] == {"same": MASK, "changed": MASK_AFTER, "added": MASK}
    assert live["data"]["changed"] == "b2xk"  # inputs untouched


def test_string_data_and_last_applied_annotation_are_masked() -> None:
    annotation = {"kubectl.kubernetes.io/last-applied-configuration": '{"data":{"p":"c2VjcmV0"}}'}
    desired = secret({}, annotations=annotation)
    desired["stringData"] = {"token": "plain"}
    _, right = mask_secrets(None, desired)
    assert right is not None
    assert right["stringData"] == {"token": MASK}
    assert right["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/last-applied-configuration": MASK
    }


def test_other_kinds_are_not_masked() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"}}
    assert mask_secrets(config, config) == (config, config)


def test_compare_gives_a_unified_diff_without_secrets() -> None:
    live = secret({"password": "aHVudGVyMg=="}, resourceVersion="5", uid="u")
    desired = secret({"password": "Y29ycmVjdA=="}, resourceVersion="5", uid="u")
    result = compare(REF, live=live, desired=desired)
    assert result.action == "update"
    assert result.diff.startswith("--- live/Secret/shop/creds\n+++ desired/Secret/shop/creds\n")
    assert "-  password: '*** (before)'" in result.diff
    assert "+  password: '*** (after)'" in result.diff
    assert "aHVudGVyMg==" not in result.diff
    assert "resourceVersion" not in result.diff


def test_compare_actions() -> None:
    obj = secret({"a": "Yg=="})
    assert compare(REF, live=obj, desired=obj).action == "unchanged"
    assert compare(REF, live=obj, desired=obj).diff == ""
    created = compare(REF, live=None, desired=obj)
    assert created.action == "create"
    assert created.diff.startswith("--- /dev/null\n")
    assert compare(REF, live=obj, desired=None).action == "delete"
