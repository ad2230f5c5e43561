"""A custom resource whose health only a CEL rule can tell, on a real API server.

The Widget kind has no controller: the test plays it, writing the status
subresource as an operator would. The built-in generic check calls a Widget
without conditions Healthy at once; the policy's CEL rule (Flux's
healthCheckExprs shape, with the optional field form Flux users write) waits
while it provisions, passes once Ready, and fails at once on a configuration
error.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from e2e.controlplane import Cluster
from orchestrator.errors import HealthCheckFailed
from orchestrator.health import (
    ClusterAccess,
    HealthRules,
    HealthStatus,
    Target,
    observe,
    wait_for_health,
)
from orchestrator.kube.client import KubeClient

FIELD_MANAGER = "orchestrator-health-test"
GROUP = f"cel-{uuid.uuid4().hex[:8]}.example.com"
API_VERSION = f"{GROUP}/v1"


def _crd() -> dict[str, Any]:
    open_object = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": open_object, "status": open_object},
                        }
                    },
                }
            ],
        },
    }


RULES = HealthRules.model_validate(
    [
        {
            "apiVersion": API_VERSION,
            "kind": "Widget",
            "inProgress": "status.?phase.orValue('') == 'Provisioning'",
            "failed": (
                "status.?conditions.orValue([]).exists(c, c.type == 'Ready' && "
                "c.status == 'False' && c.?reason.orValue('') == 'ConfigError')"
            ),
            "current": (
                "status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'True')"
            ),
        }
    ]
)


@pytest.fixture(scope="module")
def widget_kind(kube: KubeClient) -> Iterator[None]:
    crd = Target.of(kube.apply(_crd(), field_manager=FIELD_MANAGER))
    try:
        established = wait_for_health(kube, [crd], timeout=60, interval=0.5)
        assert established.healthy, established.summary
        yield
    finally:
        kube.delete(
            api_version="apiextensions.k8s.io/v1",
            kind="CustomResourceDefinition",
            name=f"widgets.{GROUP}",
        )


def _widget(kube: KubeClient, *, namespace: str, name: str) -> Target:
    obj = {
        "apiVersion": API_VERSION,
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"size": 3},
    }
    return Target.of(kube.apply(obj, field_manager=FIELD_MANAGER))


def _set_status(cluster: Cluster, *, namespace: str, name: str, status: dict[str, Any]) -> None:
    path = f"/apis/{API_VERSION}/namespaces/{namespace}/widgets/{name}/status"
    resp = cluster.admin().request(
        "PATCH", path, {"status": status}, content_type="application/merge-patch+json"
    )
    assert resp.ok, resp.body


@pytest.mark.usefixtures("widget_kind")
def test_a_cel_rule_decides_a_custom_resource_until_it_is_ready(
    kube: KubeClient, access: ClusterAccess, cluster: Cluster, namespace: str
) -> None:
    target = _widget(kube, namespace=namespace, name="gear")

    first = observe(access, [target], rules=RULES).objects[0]
    _set_status(cluster, namespace=namespace, name="gear", status={"phase": "Provisioning"})
    provisioning = observe(access, [target], rules=RULES).objects[0]
    without_rule = observe(access, [target]).objects[0]

    assert first.status is HealthStatus.UNKNOWN, first.message  # no status: cannot evaluate
    assert provisioning.status is HealthStatus.PROGRESSING, provisioning.message
    assert f"rule {GROUP}/Widget: inProgress is true" in provisioning.message
    # What the rule is for: the generic check sees no condition and says Healthy.
    assert without_rule.status is HealthStatus.HEALTHY, without_rule.message

    def become_ready() -> None:
        time.sleep(1.5)
        ready = {"phase": "Ready", "conditions": [{"type": "Ready", "status": "True"}]}
        _set_status(cluster, namespace=namespace, name="gear", status=ready)

    writer = threading.Thread(target=become_ready)
    writer.start()
    try:
        health = wait_for_health(access, [target], timeout=60, interval=0.5, rules=RULES)
    finally:
        writer.join()

    assert health.healthy, health.summary
    assert health.objects[0].message.startswith(f"rule {GROUP}/Widget: current is true")


@pytest.mark.usefixtures("widget_kind")
def test_a_cel_failed_expression_stops_the_wait_at_once(
    kube: KubeClient, access: ClusterAccess, cluster: Cluster, namespace: str
) -> None:
    target = _widget(kube, namespace=namespace, name="cog")
    broken = {"type": "Ready", "status": "False", "reason": "ConfigError", "message": "size 3"}
    _set_status(
        cluster, namespace=namespace, name="cog", status={"phase": "Error", "conditions": [broken]}
    )
    started = time.monotonic()

    with pytest.raises(HealthCheckFailed) as failed:
        wait_for_health(access, [target], timeout=60, interval=0.5, rules=RULES)

    assert time.monotonic() - started < 30
    assert f"Widget/{namespace}/cog is Failed: rule {GROUP}/Widget: failed is true" in str(
        failed.value
    )
