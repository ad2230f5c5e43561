"""Pruning is the inventory difference: what left the delivery is deleted, with three exceptions."""

from __future__ import annotations

import uuid

from orchestrator.kube import Action
from orchestrator.kube.client import KubeClient
from orchestrator.objectref import ObjectRef

from .conftest import Env, load


def test_objects_that_leave_the_delivery_are_deleted(env: Env) -> None:
    manifests = load("basic", namespace=env.namespace)
    env.deliver(manifests)
    service = ObjectRef(group="", kind="Service", namespace=env.namespace, name="shop")

    changes = env.deliver([m for m in manifests if m.ref != service], revision="rev-2")

    entry = changes.get(service)
    assert entry is not None
    assert entry.action is Action.DELETED
    assert env.get("Service", "shop") is None
    assert service not in env.store.read()
    assert len(env.store.read()) == 2


def test_annotation_keeps_an_object_out_of_pruning(env: Env) -> None:
    env.deliver(load("keep", namespace=env.namespace))

    changes = env.deliver([], revision="rev-2")

    ns = env.namespace
    kept = changes.get(ObjectRef(group="", kind="ConfigMap", namespace=ns, name="kept"))
    pruned = changes.get(ObjectRef(group="", kind="ConfigMap", namespace=ns, name="pruned"))
    assert kept is not None
    assert pruned is not None
    assert kept.action is Action.SKIPPED
    assert "orchestrator.dev/prune" in kept.message
    assert pruned.action is Action.DELETED
    assert env.get("ConfigMap", "kept") is not None
    assert env.get("ConfigMap", "pruned") is None
    # The kept object is abandoned: it leaves the inventory and is never pruned later.
    assert len(env.store.read()) == 0


def test_pruning_switched_off_for_the_environment(env: Env) -> None:
    manifests = load("basic", namespace=env.namespace)
    env.deliver(manifests)

    changes = env.deliver([], revision="rev-2", prune=False)

    assert {str(e.action) for e in changes} == {"skipped"}
    assert all("disabled for this environment" in e.message for e in changes)
    for manifest in manifests:
        assert env.get(manifest.ref.kind, manifest.ref.name, api_version=manifest.api_version)


def test_namespace_with_objects_of_others_is_not_pruned_until_empty(
    env: Env, kube: KubeClient
) -> None:
    fresh = f"fresh-{uuid.uuid4().hex[:8]}"
    env.deliver(load("new-namespace", namespace=fresh))
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "not-from-git", "namespace": fresh},
            "data": {"owner": "a person"},
        },
        field_manager="someone",
    )
    namespace = ObjectRef(group="", kind="Namespace", namespace="", name=fresh)
    try:
        changes = env.deliver([], revision="rev-2")

        entry = changes.get(namespace)
        assert entry is not None
        assert entry.action is Action.SKIPPED
        assert f"ConfigMap/{fresh}/not-from-git" in entry.message
        own = changes.get(ObjectRef(group="", kind="ConfigMap", namespace=fresh, name="settings"))
        assert own is not None
        assert own.action is Action.DELETED
        assert kube.get(api_version="v1", kind="Namespace", name=fresh) is not None
        assert env.store.read().refs() == {namespace}  # kept, to try again

        kube.delete(api_version="v1", kind="ConfigMap", name="not-from-git", namespace=fresh)
        again = env.deliver([], revision="rev-3")

        entry = again.get(namespace)
        assert entry is not None
        assert entry.action is Action.DELETED
        assert len(env.store.read()) == 0
    finally:
        kube.delete(api_version="v1", kind="Namespace", name=fresh)
