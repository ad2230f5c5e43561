"""Pruning deletes only what an apply of ours recorded, and only that very object.

The inventory Secret is the agent's own record; these tests forge it the way a
person with write access to the agent's namespace (or a bug) could, and show
that pruning still deletes nothing it did not apply.
"""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.errors import PreconditionFailed
from orchestrator.kube import Action
from orchestrator.kube.client import KubeClient
from orchestrator.kube.inventory import Inventory, InventoryEntry
from orchestrator.objectref import ObjectRef

from .conftest import Env, load


def _precious(kube: KubeClient, namespace: str) -> dict[str, Any]:
    """A ConfigMap someone else made; no delivery of ours ever applied it."""
    return kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "precious", "namespace": namespace},
            "data": {"owner": "another team"},
        },
        field_manager="another-team",
    )


def test_a_forged_inventory_entry_without_uid_prunes_nothing(env: Env, kube: KubeClient) -> None:
    _precious(kube, env.namespace)
    ref = ObjectRef(group="", kind="ConfigMap", namespace=env.namespace, name="precious")
    env.store.write(
        Inventory(revision="forged", entries=(InventoryEntry(ref=ref, api_version="v1"),))
    )

    changes = env.deliver(load("basic", namespace=env.namespace), revision="rev-1")

    entry = changes.get(ref)
    assert entry is not None
    assert entry.action is Action.SKIPPED
    assert "no uid" in entry.message
    assert env.get("ConfigMap", "precious") is not None
    assert ref not in env.store.read()  # abandoned: never considered again


def test_a_forged_inventory_entry_with_another_uid_prunes_nothing(
    env: Env, kube: KubeClient
) -> None:
    _precious(kube, env.namespace)
    ref = ObjectRef(group="", kind="ConfigMap", namespace=env.namespace, name="precious")
    forged = InventoryEntry(ref=ref, api_version="v1", uid="00000000-0000-0000-0000-000000000000")
    env.store.write(Inventory(revision="forged", entries=(forged,)))

    changes = env.deliver([], revision="rev-1")

    entry = changes.get(ref)
    assert entry is not None
    assert entry.action is Action.SKIPPED
    assert env.get("ConfigMap", "precious") is not None


def test_delete_with_a_stale_uid_leaves_the_new_object_alone(env: Env, kube: KubeClient) -> None:
    """The race pruning cannot see: re-created between our read and our DELETE."""
    first = _precious(kube, env.namespace)
    stale_uid = first["metadata"]["uid"]
    kube.delete(api_version="v1", kind="ConfigMap", name="precious", namespace=env.namespace)
    second = _precious(kube, env.namespace)
    assert second["metadata"]["uid"] != stale_uid

    with pytest.raises(PreconditionFailed) as caught:
        kube.delete(
            api_version="v1",
            kind="ConfigMap",
            name="precious",
            namespace=env.namespace,
            uid=stale_uid,
        )

    assert f"ConfigMap/{env.namespace}/precious" in str(caught.value)
    live = env.get("ConfigMap", "precious")
    assert live is not None
    assert live["metadata"]["uid"] == second["metadata"]["uid"]
    assert kube.delete(
        api_version="v1",
        kind="ConfigMap",
        name="precious",
        namespace=env.namespace,
        uid=second["metadata"]["uid"],
    )
