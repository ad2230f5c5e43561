"""The apply engine on a real API server: create, update, no-op, conflicts, CRDs, rejections."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator.errors import DryRunFailed, FieldConflict, UnknownKind
from orchestrator.kube import Action, ChangeSet, Step
from orchestrator.kube.client import KubeClient
from orchestrator.objectref import ObjectRef

from .conftest import Env, load


def actions(changes: ChangeSet) -> dict[str, str]:
    return {str(e.ref): str(e.action) for e in changes}


def rv(obj: dict[str, Any] | None) -> str:
    assert obj is not None
    return str(obj["metadata"]["resourceVersion"])


class CountingApplies:
    """Counts apply requests (dry runs included) a client makes."""

    def __init__(self, client: KubeClient, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, bool]] = []
        real = client.apply

        def apply(obj: Any, **kwargs: Any) -> dict[str, Any]:
            self.calls.append((str(ObjectRef.of(dict(obj))), bool(kwargs.get("dry_run"))))
            return real(obj, **kwargs)

        monkeypatch.setattr(client, "apply", apply)


def test_create_applies_every_object_and_records_it(env: Env) -> None:
    manifests = load("basic", namespace=env.namespace)

    changes = env.deliver(manifests, revision="c0ffee")

    ns = env.namespace
    assert actions(changes) == {
        f"ConfigMap/{ns}/app-config": "created",
        f"Service/{ns}/shop": "created",
        f"Deployment/{ns}/shop": "created",
    }
    assert changes.summary() == "3 created"
    assert list(changes.durations) == [
        Step.DISCOVERY,
        Step.LIVE,
        Step.DRY_RUN,
        Step.APPLY,
        Step.INVENTORY,
    ]
    config = env.get("ConfigMap", "app-config")
    assert config is not None
    assert config["data"] == {"greeting": "hello", "colour": "blue"}
    managers = {m["manager"] for m in config["metadata"]["managedFields"]}
    assert f"orchestrator-{env.name}" in managers

    inventory = env.store.read()
    assert inventory.revision == "c0ffee"
    assert inventory.field_manager == f"orchestrator-{env.name}"
    assert inventory.refs() == {m.ref for m in manifests}
    record = inventory.get(manifests[0].ref)
    assert record is not None
    assert record.digest == manifests[0].digest
    assert record.uid


def test_update_configures_only_what_changed(env: Env) -> None:
    env.deliver(load("basic", namespace=env.namespace))

    changes = env.deliver(load("basic-updated", namespace=env.namespace), revision="rev-2")

    ns = env.namespace
    assert actions(changes) == {
        f"ConfigMap/{ns}/app-config": "configured",
        f"Service/{ns}/shop": "unchanged",
        f"Deployment/{ns}/shop": "unchanged",
    }
    config = env.get("ConfigMap", "app-config")
    assert config is not None
    assert config["data"]["colour"] == "green"
    assert env.store.read().revision == "rev-2"


def test_unchanged_delivery_costs_no_write_and_no_request_per_object(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = load("basic", namespace=env.namespace)
    env.deliver(manifests)
    # Objects without status keep their resourceVersion; the Deployment's changes as
    # its controller writes status, so for it the proof of no write is its generation.
    config_rv = rv(env.get("ConfigMap", "app-config"))
    service_rv = rv(env.get("Service", "shop"))
    deployment = env.get("Deployment", "shop", api_version="apps/v1")
    assert deployment is not None
    counter = CountingApplies(env.client, monkeypatch)

    changes = env.deliver(manifests)

    assert {str(e.action) for e in changes} == {"unchanged"}
    assert counter.calls == []  # no dry run, no apply: the inventory and one list proved it
    assert Step.DRY_RUN not in changes.durations
    assert Step.APPLY not in changes.durations
    assert rv(env.get("ConfigMap", "app-config")) == config_rv
    assert rv(env.get("Service", "shop")) == service_rv
    after = env.get("Deployment", "shop", api_version="apps/v1")
    assert after is not None
    assert after["metadata"]["generation"] == deployment["metadata"]["generation"]


def test_status_written_by_a_controller_does_not_make_an_object_changed(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = load("basic", namespace=env.namespace)
    env.deliver(manifests)
    recorded = env.store.read().get(
        ObjectRef(group="apps", kind="Deployment", namespace=env.namespace, name="shop")
    )
    assert recorded is not None
    deadline = time.monotonic() + 30
    while rv(env.get("Deployment", "shop", api_version="apps/v1")) == recorded.resource_version:
        assert time.monotonic() < deadline, "the deployment controller never wrote status"
        time.sleep(0.2)
    counter = CountingApplies(env.client, monkeypatch)

    changes = env.deliver(manifests)

    entry = changes.get(recorded.ref)
    assert entry is not None
    assert entry.action is Action.UNCHANGED
    assert entry.message == "managed fields as applied"
    assert counter.calls == []


def test_drift_is_reapplied(env: Env) -> None:
    manifests = load("basic", namespace=env.namespace)
    env.deliver(manifests)
    # Someone edits a field the delivery owns, someone else deletes an object.
    env.client.merge_patch(
        api_version="v1",
        kind="ConfigMap",
        name="app-config",
        namespace=env.namespace,
        patch={"data": {"colour": "hand-edited"}},
    )
    env.client.delete(api_version="v1", kind="Service", name="shop", namespace=env.namespace)

    # The edit moved .data.colour to another manager: without force that is a conflict.
    with pytest.raises(FieldConflict):
        env.deliver(manifests)
    changes = env.deliver(manifests, force=True)

    ns = env.namespace
    assert actions(changes) == {
        f"ConfigMap/{ns}/app-config": "configured",
        f"Service/{ns}/shop": "created",
        f"Deployment/{ns}/shop": "unchanged",
    }
    config = env.get("ConfigMap", "app-config")
    assert config is not None
    assert config["data"]["colour"] == "blue"


def test_conflict_with_another_manager_is_refused_then_forced(env: Env) -> None:
    other = load("conflict-other", namespace=env.namespace)[0]
    env.client.apply(other.body, field_manager="someone-else")

    with pytest.raises(FieldConflict) as refused:
        env.deliver(load("conflict", namespace=env.namespace))

    ref = ObjectRef(group="", kind="ConfigMap", namespace=env.namespace, name="contested")
    assert refused.value.ref == ref
    assert refused.value.managers == ["someone-else"]
    assert refused.value.fields == [".data.owner"]
    assert f"ConfigMap/{env.namespace}/contested" in str(refused.value)
    assert '"someone-else"' in str(refused.value)
    live = env.get("ConfigMap", "contested")
    assert live is not None
    assert live["data"]["owner"] == "someone-else"
    assert len(env.store.read()) == 0

    changes = env.deliver(load("conflict", namespace=env.namespace), force=True)

    assert actions(changes) == {str(ref): "configured"}
    live = env.get("ConfigMap", "contested")
    assert live is not None
    assert live["data"]["owner"] == "orchestrator"


@pytest.fixture
def crd_group(kube: KubeClient) -> Iterator[str]:
    group = f"g{uuid.uuid4().hex[:8]}.test.example"
    try:
        yield group
    finally:
        kube.delete(
            api_version="apiextensions.k8s.io/v1",
            kind="CustomResourceDefinition",
            name=f"widgets.{group}",
        )


def test_crd_and_its_custom_resource_in_one_delivery(
    env: Env, crd_group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = load("crd", namespace=env.namespace, group=crd_group)

    changes = env.deliver(manifests)

    assert actions(changes) == {
        f"CustomResourceDefinition/widgets.{crd_group}": "created",
        f"Widget/{env.namespace}/first": "created",
    }
    widget = env.get("Widget", "first", api_version=f"{crd_group}/v1")
    assert widget is not None
    assert widget["spec"] == {"size": 3}

    counter = CountingApplies(env.client, monkeypatch)
    again = env.deliver(manifests)
    assert {str(e.action) for e in again} == {"unchanged"}
    assert counter.calls == []


def test_custom_resource_of_a_new_crd_is_dry_run_once_the_crd_exists(
    env: Env, crd_group: str
) -> None:
    manifests = load("crd-invalid-resource", namespace=env.namespace, group=crd_group)

    with pytest.raises(DryRunFailed) as failed:
        env.deliver(manifests)

    (ref, reason), *_ = failed.value.rejections
    assert str(ref) == f"Widget/{env.namespace}/broken"
    assert "size" in reason
    # The definitions stage went first (the dry run needs it), and it is recorded,
    # so a later delivery without the CRD prunes it; the resource was never applied.
    crd = f"widgets.{crd_group}"
    assert env.client.get(
        api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition", name=crd
    )
    assert env.get("Widget", "broken", api_version=f"{crd_group}/v1") is None
    assert {r.name for r in env.store.read().refs()} == {crd}


def test_invalid_object_makes_the_whole_delivery_apply_nothing(env: Env) -> None:
    manifests = load("invalid", namespace=env.namespace)
    progress = ChangeSet()

    with pytest.raises(DryRunFailed) as failed:
        env.deliver(manifests, into=progress)

    # The caller keeps how far it got: through the dry run, no apply, nothing changed.
    assert Step.DRY_RUN in progress.durations
    assert Step.APPLY not in progress.durations
    assert not progress.changed

    rejected = {str(ref): reason for ref, reason in failed.value.rejections}
    ns = env.namespace
    assert set(rejected) == {f"Service/{ns}/bad-port", f"Deployment/{ns}/bad-selector"}
    assert "70000" in rejected[f"Service/{ns}/bad-port"]
    assert "selector" in rejected[f"Deployment/{ns}/bad-selector"]
    assert f"Service/{ns}/bad-port" in str(failed.value)
    for manifest in manifests:
        assert (
            env.get(manifest.ref.kind, manifest.ref.name, api_version=manifest.api_version) is None
        )
    assert (
        env.client.get(
            api_version="v1", kind="Secret", name=env.store.name, namespace=env.namespace
        )
        is None
    )


def test_namespace_created_and_used_in_one_delivery(env: Env, kube: KubeClient) -> None:
    fresh = f"fresh-{uuid.uuid4().hex[:8]}"
    manifests = load("new-namespace", namespace=fresh)
    try:
        changes = env.deliver(manifests)

        assert actions(changes) == {
            f"Namespace/{fresh}": "created",
            f"ConfigMap/{fresh}/settings": "created",
            f"ServiceAccount/{fresh}/runner": "created",
        }
        settings = kube.get(api_version="v1", kind="ConfigMap", name="settings", namespace=fresh)
        assert settings is not None
        assert settings["data"] == {"mode": "fresh"}
        assert {str(e.action) for e in env.deliver(manifests)} == {"unchanged"}
    finally:
        kube.delete(api_version="v1", kind="Namespace", name=fresh)


def test_unknown_kind_is_named_with_its_file_and_nothing_is_applied(env: Env) -> None:
    manifests = load("unknown-kind", namespace=env.namespace)

    with pytest.raises(UnknownKind) as unknown:
        env.deliver(manifests)

    message = str(unknown.value)
    assert "Gizmo" in message
    assert "gadgets.unknown.example/v1" in message
    assert "gizmo.yaml" in message
    assert unknown.value.ref == ObjectRef(
        group="gadgets.unknown.example", kind="Gizmo", namespace=env.namespace, name="mystery"
    )
    assert env.get("ConfigMap", "app-config") is None
