"""A real agent reports: Events and signed notifications per phase change, traces per reconcile."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.integration.agent.test_pr_flow import Flow, _app, flow  # noqa: F401 - fixture
from tests.support.agents import eventually
from tests.support.receiver import receiver

pytestmark = pytest.mark.slow


def test_phase_changes_become_events_and_signed_notifications(
    flow: Flow,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    key = tmp_path / "notification-key"
    key.write_text("hook-key\n")
    with receiver(500) as hook:
        targets = [
            {"name": "ops", "url": hook.url, "secret_file": str(key)},
            # Routed away: production's news only.
            {"name": "prod-only", "url": hook.url + "/prod", "environments": ["production"]},
        ]
        flow.agent("staging", ORCHESTRATOR_REPORT__NOTIFICATIONS=json.dumps(targets)).start()
        commit = flow.bus.commit(
            "staging",
            {"manifests/app.yaml": _app(flow.app_ns)},
            message="Deliver feature-r\n\nDelivery: feature-r",
        )
        flow.wait_phase("staging", commit, "Promoted")

        def about_commit() -> list[dict[str, str]]:
            payloads = [json.loads(r.body) for r in hook.delivered()]
            return [p for p in payloads if p["revision"] == commit]

        phases = eventually(
            "Healthy and Promoted notifications",
            lambda: (
                got
                if {"Healthy", "Promoted"} <= (got := {p["phase"] for p in about_commit()})
                else None
            ),
            timeout=30,
            logs=flow.logs,
        )

    # (The setup commit before it gets its own Superseded news: its verdict is this one's.)
    assert phases == {"Healthy", "Promoted"}
    assert hook.received[0].answered == 500  # the first attempt failed and was retried
    assert all(r.path == "/hooks/orchestrator" for r in hook.received)
    for request in hook.delivered():
        expected = hmac.new(b"hook-key", request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Orchestrator-Signature"] == f"sha256={expected}"
        payload = json.loads(request.body)
        assert payload["environment"] == "staging"
    assert {p["delivery"] for p in about_commit()} == {"feature-r"}

    events = (
        flow.clusters["staging"]
        .admin()
        .request("GET", f"/apis/events.k8s.io/v1/namespaces/{flow.agent_ns}/events")
    )
    reasons = {
        e["reason"]
        for e in events.body["items"]
        if e["regarding"]["name"] == "orchestrator-inventory-staging"
        and e["reportingController"] == "orchestrator.dev/agent"
        and commit[:12] in e["note"]
    }
    assert {"Healthy", "Promoted"} <= reasons


def _spans(body: bytes) -> list[tuple[str, dict[str, str]]]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    return [
        (span.name, {a.key: a.value.string_value for a in span.attributes})
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]


def test_a_reconcile_is_one_trace_with_a_span_per_stage(
    flow: Flow,  # noqa: F811 - the fixture imported above
) -> None:
    with receiver() as collector:
        flow.agent(
            "staging", ORCHESTRATOR_REPORT__TRACES_ENDPOINT=collector.url.rsplit("/", 2)[0]
        ).start()
        commit = flow.bus.commit(
            "staging",
            {"manifests/app.yaml": _app(flow.app_ns)},
            message="Deliver feature-t\n\nDelivery: feature-t",
        )
        flow.wait_phase("staging", commit, "Promoted")
        names = eventually(
            "the reconcile's spans",
            lambda: (
                got
                if {"reconcile", "admit", "apply", "health", "promotion"}
                <= (
                    got := {
                        name
                        for r in collector.delivered()
                        for name, attributes in _spans(r.body)
                        if attributes.get("revision") == commit
                    }
                )
                else None
            ),
            timeout=30,
            logs=flow.logs,
        )
    assert "verification" in names
    assert {r.path for r in collector.received} == {"/v1/traces"}
