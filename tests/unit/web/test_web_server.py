"""The agent's HTTP server without sockets: probes, routing, the documented routes."""

from __future__ import annotations

import pytest

from orchestrator.web.metrics import Metrics
from orchestrator.web.server import AgentServer, healthz, readyz_handler
from orchestrator.web.transport import Request, Response, Routes

SECRET = "It's a Secret to Everybody"


class Triggers:
    def __init__(self, answer: bool = True) -> None:
        self.refs: list[str | None] = []
        self.answer = answer

    def __call__(self, ref: str | None) -> bool:
        self.refs.append(ref)
        return self.answer


def test_readyz_reports_the_reason() -> None:
    state = {"ready": False}

    def readiness() -> tuple[bool, str]:
        return (True, "ok") if state["ready"] else (False, "waiting for git")

    readyz = readyz_handler(readiness)
    response = readyz(Request(method="GET", path="/readyz"))
    assert (response.status, response.body) == (503, b"waiting for git\n")
    state["ready"] = True
    assert readyz(Request(method="GET", path="/readyz")).status == 200
    assert healthz(Request(method="GET", path="/healthz")).status == 200


def test_routes_dispatch_by_path_and_method() -> None:
    routes = Routes()
    routes.add("/", lambda request: Response.text(200, "page"))
    routes.add("/api/pipeline", lambda request: Response.json(200, {"stages": []}))
    assert routes.dispatch(Request(method="GET", path="/")).body == b"page\n"
    assert routes.dispatch(Request(method="HEAD", path="/")).status == 200
    assert routes.dispatch(Request(method="GET", path="/api/pipeline")).status == 200
    not_allowed = routes.dispatch(Request(method="POST", path="/"))
    assert not_allowed.status == 405
    assert ("Allow", "GET, HEAD") in not_allowed.headers
    assert routes.dispatch(Request(method="GET", path="/nope")).status == 404
    with pytest.raises(ValueError, match="starts with"):
        routes.add("relative", healthz)


def test_the_server_registers_the_documented_routes_and_leaves_room_for_a_page() -> None:
    server = AgentServer(
        bind_address="127.0.0.1",
        port=0,
        readiness=lambda: (True, "ok"),
        metrics=Metrics(environment="staging"),
        trigger=Triggers(),
        webhook_secret=None,
    )
    assert server.routes.paths() == ["/healthz", "/hooks/git", "/metrics", "/readyz"]
    # Disabled: 404 whatever the method.
    for method in ("GET", "POST"):
        assert server.routes.dispatch(Request(method=method, path="/hooks/git")).status == 404
    server.routes.add("/", lambda request: Response.text(200, "pipeline"))
    assert "/" in server.routes.paths()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.port


def test_metrics_route_serves_the_registry() -> None:
    metrics = Metrics(environment="staging")
    server = AgentServer(
        bind_address="127.0.0.1",
        port=0,
        readiness=lambda: (True, "ok"),
        metrics=metrics,
        trigger=Triggers(),
        webhook_secret=SECRET,
    )
    response = server.routes.dispatch(Request(method="GET", path="/metrics"))
    assert response.status == 200
    assert response.content_type.startswith("text/plain")
    assert b"orchestrator_leader" in response.body
    openmetrics = server.routes.dispatch(
        Request(
            method="GET",
            path="/metrics",
            headers={"Accept": "application/openmetrics-text; version=1.0.0"},
        )
    )
    assert openmetrics.content_type.startswith("application/openmetrics-text")
    assert openmetrics.body.rstrip().endswith(b"# EOF")
