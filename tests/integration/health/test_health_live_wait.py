"""Waiting and soaking against a real control plane with a kwok node.

The pods' fates come from the harness's kwok stages (e2e/controlplane/kwok-stages.yaml):
the annotation `orchestrator.dev/test-outcome` makes a pod never ready, or turns a
ready pod unready.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from orchestrator.errors import HealthCheckFailed, SoakFailed
from orchestrator.health import (
    ClusterAccess,
    DeliveryHealth,
    HealthStatus,
    Target,
    soak,
    wait_for_health,
)
from orchestrator.kube.client import KubeClient

FIELD_MANAGER = "orchestrator-health-test"
OUTCOME = "orchestrator.dev/test-outcome"


def deployment(
    name: str,
    namespace: str,
    *,
    replicas: int = 2,
    pod_annotations: dict[str, str] | None = None,
    deadline: int | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}, "annotations": pod_annotations or {}},
            "spec": {"containers": [{"name": name, "image": "nginx:1.27"}]},
        },
    }
    if deadline is not None:
        spec["progressDeadlineSeconds"] = deadline
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def apply(kube: KubeClient, *objects: dict[str, Any]) -> list[Target]:
    return [Target.of(kube.apply(obj, field_manager=FIELD_MANAGER)) for obj in objects]


def test_a_deployment_goes_progressing_then_healthy_and_stays_so(
    kube: KubeClient, access: ClusterAccess, namespace: str
) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": namespace},
        "data": {"mode": "fast"},
    }
    targets = apply(kube, config, deployment("web", namespace))
    seen: list[DeliveryHealth] = []

    health = wait_for_health(access, targets, timeout=90, interval=0.5, progress=seen.append)

    assert health.healthy, health.summary
    assert seen[0].status is HealthStatus.PROGRESSING, seen[0].summary
    assert seen[0].objects[0].status is HealthStatus.HEALTHY  # a ConfigMap is ready at once
    assert health.objects[1].message == "rollout complete: 2 replica(s) available"

    soaked = soak(access, targets, duration=2, interval=0.5)
    assert soaked.healthy


def test_a_deployment_that_cannot_become_ready_fails_before_the_timeout(
    kube: KubeClient, access: ClusterAccess, namespace: str
) -> None:
    stuck = deployment(
        "stuck", namespace, replicas=1, pod_annotations={OUTCOME: "never-ready"}, deadline=3
    )
    targets = apply(kube, stuck)
    timeout = 120.0
    started = time.monotonic()

    with pytest.raises(HealthCheckFailed) as failed:
        wait_for_health(access, targets, timeout=timeout, interval=0.5)

    elapsed = time.monotonic() - started
    assert elapsed < timeout / 4, f"took {elapsed:.1f}s: it waited instead of failing fast"
    message = str(failed.value)
    assert f"Deployment/{namespace}/stuck is Failed: progress deadline exceeded" in message
    assert "has timed out progressing" in message


def test_an_object_turning_unhealthy_during_the_soak_fails_it(
    kube: KubeClient, access: ClusterAccess, namespace: str
) -> None:
    targets = apply(kube, deployment("web", namespace))
    wait_for_health(access, targets, timeout=90, interval=0.5)
    pods = kube.list(api_version="v1", kind="Pod", namespace=namespace, label_selector="app=web")
    victim = pods[0]["metadata"]["name"]

    def readiness_probe_starts_failing() -> None:
        kube.merge_patch(
            api_version="v1",
            kind="Pod",
            name=victim,
            namespace=namespace,
            patch={"metadata": {"annotations": {OUTCOME: "unready"}}},
        )

    breaker = threading.Timer(2.0, readiness_probe_starts_failing)
    breaker.start()
    started = time.monotonic()
    try:
        with pytest.raises(SoakFailed) as failed:
            soak(access, targets, duration=60, interval=0.5)
    finally:
        breaker.cancel()

    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 30, f"the regression was seen after {elapsed:.1f}s"
    message = str(failed.value)
    assert message.startswith(f"Deployment/{namespace}/web became Progressing "), message
    assert "s into the 60s soak (at " in message
