"""A real agent reports each phase change as a Kubernetes Event and a signed notification."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

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
        phases = eventually(
            "Healthy and Promoted notifications",
            lambda: (
                got
                if {"Healthy", "Promoted"}
                <= (got := {json.loads(r.body)["phase"] for r in hook.delivered()})
                else None
            ),
            timeout=30,
            logs=flow.logs,
        )

    assert phases == {"Healthy", "Promoted"}
    assert hook.received[0].answered == 500  # the first attempt failed and was retried
    assert all(r.path == "/hooks/orchestrator" for r in hook.received)
    for request in hook.delivered():
        expected = hmac.new(b"hook-key", request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Orchestrator-Signature"] == f"sha256={expected}"
        payload = json.loads(request.body)
        assert (payload["environment"], payload["revision"], payload["delivery"]) == (
            "staging",
            commit,
            "feature-r",
        )

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
