"""The agent's HTTP server over real sockets on 127.0.0.1: probes, metrics, webhook."""

from __future__ import annotations

import http.client
import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from orchestrator.health.status import HealthStatus
from orchestrator.web.metrics import Metrics
from orchestrator.web.server import AgentServer
from orchestrator.web.transport import Response
from orchestrator.web.webhook import sign
from tests.prerequisites import require_command

SECRET = "webhook-secret-for-tests"
LIMIT = 64 * 1024


@dataclass
class Fixture:
    server: AgentServer
    metrics: Metrics
    triggers: list[str | None] = field(default_factory=list)
    ready: list[bool] = field(default_factory=lambda: [False])


def start(secret: str | None, *, webhook_port: int | None = None) -> Fixture:
    metrics = Metrics(environment="staging")
    fixture: Fixture

    def trigger(ref: str | None) -> bool:
        fixture.triggers.append(ref)
        return True

    def readiness() -> tuple[bool, str]:
        return (True, "ok") if fixture.ready[0] else (False, "waiting for git")

    server = AgentServer(
        bind_address="127.0.0.1",
        port=0,
        readiness=readiness,
        metrics=metrics,
        trigger=trigger,
        webhook_secret=secret,
        max_body_bytes=LIMIT,
        request_timeout=5,
        webhook_port=webhook_port,
    )
    fixture = Fixture(server=server, metrics=metrics)
    server.start()
    return fixture


@pytest.fixture
def agent() -> Iterator[Fixture]:
    fixture = start(SECRET)
    yield fixture
    fixture.server.stop()


def request(
    fixture: Fixture,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    port: int | None = None,
) -> tuple[int, bytes, http.client.HTTPMessage]:
    conn = http.client.HTTPConnection("127.0.0.1", port or fixture.server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), response.headers
    finally:
        conn.close()


def test_probes(agent: Fixture) -> None:
    assert request(agent, "GET", "/healthz")[:2] == (200, b"ok\n")
    status, body, _ = request(agent, "GET", "/readyz")
    assert (status, body) == (503, b"waiting for git\n")
    agent.ready[0] = True
    assert request(agent, "GET", "/readyz")[0] == 200
    status, body, headers = request(agent, "HEAD", "/healthz")
    assert status == 200
    assert body == b""
    assert headers["Content-Length"] == "3"
    assert request(agent, "GET", "/nothing-here")[0] == 404


def test_metrics_are_scraped_with_labels(agent: Fixture) -> None:
    agent.metrics.observe_reconcile(seconds=2.0, result="success")
    agent.metrics.count_applied("configured", 3)
    agent.metrics.set_health(HealthStatus.HEALTHY)
    with urllib.request.urlopen(f"{agent.server.url}/metrics", timeout=10) as response:
        text = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/plain")
    for line in (
        'orchestrator_reconcile_duration_seconds_count{environment="staging",result="success"} 1.0',
        'orchestrator_objects_applied_total{action="configured",environment="staging"} 3.0',
        'orchestrator_health_status{environment="staging",status="Healthy"} 1.0',
        'orchestrator_leader{environment="staging"} 0.0',
    ):
        assert line in text, line
    for name in (
        "orchestrator_promotions_total",
        "orchestrator_git_fetch_duration_seconds",
        "orchestrator_last_successful_reconcile_timestamp_seconds",
        "orchestrator_drift_detected_total",
    ):
        assert f"# TYPE {name}" in text or f"# HELP {name}" in text, name


def test_a_signed_github_push_triggers_a_poll(agent: Fixture) -> None:
    body = json.dumps({"ref": "refs/heads/staging", "after": "a" * 40}).encode()
    status, answer, _ = request(
        agent,
        "POST",
        "/hooks/git",
        body,
        {
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-Hub-Signature-256": sign(SECRET, body),
        },
    )
    assert status == 202, answer
    assert json.loads(answer) == {"ref": "refs/heads/staging", "triggered": True}
    assert agent.triggers == ["refs/heads/staging"]


def test_a_signed_generic_push_triggers_a_poll(agent: Fixture) -> None:
    body = b'{"ref": "refs/heads/production"}'
    status, _, _ = request(
        agent, "POST", "/hooks/git", body, {"X-Orchestrator-Signature": sign(SECRET, body)}
    )
    assert status == 202
    assert agent.triggers == ["refs/heads/production"]


def test_bad_and_missing_signatures_are_refused(agent: Fixture) -> None:
    body = b'{"ref": "refs/heads/staging"}'
    assert request(agent, "POST", "/hooks/git", body)[0] == 401
    bad = {"X-Hub-Signature-256": sign("wrong", body)}
    assert request(agent, "POST", "/hooks/git", body, bad)[0] == 401
    assert agent.triggers == []


def test_only_post_reaches_the_hook(agent: Fixture) -> None:
    status, _, headers = request(agent, "GET", "/hooks/git")
    assert status == 405
    assert headers["Allow"] == "POST"


@pytest.mark.parametrize("size", [LIMIT + 1, 4 * 1024 * 1024])
def test_a_body_past_the_limit_is_refused_before_it_is_read(agent: Fixture, size: int) -> None:
    # Also far past it: the sender must see the 413, not a connection reset.
    body = b"x" * size
    status, answer, _ = request(
        agent, "POST", "/hooks/git", body, {"X-Orchestrator-Signature": sign(SECRET, body)}
    )
    assert status == 413, answer
    assert agent.triggers == []
    # The server is still fine afterwards.
    assert request(agent, "GET", "/healthz")[0] == 200


def test_a_body_at_the_limit_is_read(agent: Fixture) -> None:
    body = json.dumps({"ref": "refs/heads/staging", "pad": "x" * (LIMIT - 100)}).encode()
    assert len(body) <= LIMIT
    status, _, _ = request(
        agent, "POST", "/hooks/git", body, {"X-Orchestrator-Signature": sign(SECRET, body)}
    )
    assert status == 202


def test_the_webhook_is_404_without_a_secret() -> None:
    fixture = start(None)
    try:
        body = b'{"ref": "refs/heads/staging"}'
        status, _, _ = request(
            fixture, "POST", "/hooks/git", body, {"X-Orchestrator-Signature": sign("", body)}
        )
        assert status == 404
        assert fixture.triggers == []
    finally:
        fixture.server.stop()


def test_a_page_can_be_added_while_running(agent: Fixture) -> None:
    agent.server.routes.add("/", lambda request: Response(200, b"<h1>pipeline</h1>", "text/html"))
    status, body, headers = request(agent, "GET", "/")
    assert (status, body) == (200, b"<h1>pipeline</h1>")
    assert headers["Content-Type"] == "text/html"


def test_the_documented_openssl_signature_is_accepted(agent: Fixture) -> None:
    # docs/operations.md signs with openssl; the server must agree with it.
    openssl = require_command("openssl")
    body = b'{"ref": "refs/heads/staging"}'
    digest = subprocess.run(
        [openssl, "dgst", "-sha256", "-hmac", SECRET],
        input=body,
        capture_output=True,
        check=True,
    ).stdout.decode()
    signature = "sha256=" + digest.strip().rsplit(" ", 1)[-1]
    assert signature == sign(SECRET, body)
    status, _, _ = request(
        agent, "POST", "/hooks/git", body, {"X-Orchestrator-Signature": signature}
    )
    assert status == 202


def test_stop_closes_the_port() -> None:
    fixture = start(SECRET)
    port = fixture.server.port
    fixture.server.stop()
    with pytest.raises((ConnectionRefusedError, urllib.error.URLError)):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_a_webhook_port_serves_the_triggers_alone() -> None:
    """Exposing the webhook through an Ingress must not expose metrics or the page."""
    fixture = start(SECRET, webhook_port=0)
    try:
        fixture.server.routes.add("/", lambda request: Response(200, b"page", "text/html"))
        hooks = int(fixture.server.webhook_url.rsplit(":", 1)[1])
        assert hooks != fixture.server.port
        body = b'{"ref": "refs/heads/staging"}'
        signed = {"X-Orchestrator-Signature": sign(SECRET, body)}

        status, _, _ = request(fixture, "POST", "/hooks/git", body, signed, port=hooks)
        assert status == 202
        assert fixture.triggers == ["refs/heads/staging"]
        for path in ("/metrics", "/", "/healthz", "/readyz"):
            status, _, _ = request(fixture, "GET", path, port=hooks)
            assert status == 404, path

        status, _, _ = request(fixture, "POST", "/hooks/git", body, signed)
        assert status == 404
        assert fixture.triggers == ["refs/heads/staging"]
        status, _, _ = request(fixture, "GET", "/metrics")
        assert status == 200
    finally:
        fixture.server.stop()
