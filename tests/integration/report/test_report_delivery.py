"""Reports reach the real world: Events in a real apiserver, notifications over real HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator

import pytest

from e2e.controlplane import Cluster
from orchestrator.gitbus.protocol import NoteEntry
from orchestrator.kube.client import KubeClient
from orchestrator.report import Reporter, Route, Sender
from orchestrator.report.notify import SIGNATURE_HEADER
from tests.support.receiver import receiver


def _entry(phase: str, **fields: str) -> NoteEntry:
    return NoteEntry(
        id=f"{phase.lower()}-{uuid.uuid4().hex[:16]}",
        at="2026-12-03T10:00:01.250000Z",
        agent="staging-agent",
        phase=phase,
        fields={"environment": "staging", "revision": "ab" * 20, "delivery": "feature-a", **fields},
    )


@pytest.fixture
def kube(cluster: Cluster) -> Iterator[KubeClient]:
    client = KubeClient.from_kubeconfig(cluster.kubeconfig)
    try:
        yield client
    finally:
        client.close()


def test_each_phase_is_an_event_the_api_server_keeps(
    kube: KubeClient, cluster: Cluster, namespace: str
) -> None:
    reporter = Reporter(
        namespace=namespace,
        regarding="orchestrator-inventory-staging",
        reporting_instance="staging-agent",
        events=kube,
    )
    healthy = _entry("Healthy", health="Healthy (2/2)")
    failed = _entry("Failed", stage="HealthCheckFailed", message="Deployment/shop/web: 0/2 ready")
    reporter(healthy)
    reporter(failed)
    reporter(failed)  # written again (a retried note): still one Event

    events = cluster.admin().request("GET", f"/apis/events.k8s.io/v1/namespaces/{namespace}/events")
    assert events.status == 200, events.body
    seen = {
        (e["reason"], e["type"], e["action"], e["regarding"]["kind"], e["regarding"]["name"])
        for e in events.body["items"]
    }
    assert seen == {
        ("Healthy", "Normal", "Reconcile", "Secret", "orchestrator-inventory-staging"),
        ("Failed", "Warning", "HealthCheckFailed", "Secret", "orchestrator-inventory-staging"),
    }
    notes = sorted(e["note"] for e in events.body["items"])
    assert notes[0].endswith("Failed: Deployment/shop/web: 0/2 ready")
    # The same Events through the core API, which `kubectl describe` reads.
    core = cluster.admin().request("GET", f"/api/v1/namespaces/{namespace}/events")
    assert {e["reason"] for e in core.body["items"]} == {"Healthy", "Failed"}


def test_a_notification_is_signed_and_retried_after_a_server_error() -> None:
    with receiver(500) as hook:
        sender = Sender(backoff=0.2)
        reporter = Reporter(
            namespace="unused",
            regarding="unused",
            reporting_instance="staging-agent",
            routes=[Route(name="ops", url=hook.url, secret="hook-key")],
            sender=sender,
        )
        sender.start()
        entry = _entry("Promoted")
        reporter(entry)
        deadline = time.monotonic() + 10
        while not hook.delivered() and time.monotonic() < deadline:
            time.sleep(0.05)
        sender.stop(timeout=2)

    assert [r.answered for r in hook.received] == [500, 200]
    first, second = hook.received
    assert first.body == second.body  # the retry is the same message
    expected = "sha256=" + hmac.new(b"hook-key", second.body, hashlib.sha256).hexdigest()
    assert second.headers[SIGNATURE_HEADER] == expected
    payload = json.loads(second.body)
    assert (payload["id"], payload["phase"], payload["delivery"]) == (
        entry.id,
        "Promoted",
        "feature-a",
    )
