"""POST /reconcile without sockets: signature, freshness, environment, leadership, force."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.web.reconcile import (
    MAX_AGE_SECONDS,
    RECONCILE_PATH,
    reconcile_body,
    register,
    signed_headers,
)
from orchestrator.web.transport import Request, Response, Routes
from orchestrator.web.webhook import sign

SECRET = "s3cret"
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


class Agent:
    """The daemon's side, recorded: leadership, triggers and forced polls."""

    def __init__(self, *, leader: bool = True, accepting: bool = True) -> None:
        self.leader = leader
        self.accepting = accepting
        self.triggered: list[str] = []
        self.forced = 0

    def routes(self, secret: str | None = SECRET) -> Routes:
        routes = Routes()
        register(
            routes,
            secret=secret,
            environment="staging",
            is_leader=lambda: self.leader,
            trigger=self.trigger,
            force=self.force,
        )
        return routes

    def trigger(self, name: str) -> bool:
        self.triggered.append(name)
        return self.accepting

    def force(self) -> None:
        self.forced += 1


def ask(routes: Routes, body: bytes, headers: dict[str, str]) -> Response:
    return routes.dispatch(Request(method="POST", path=RECONCILE_PATH, headers=headers, body=body))


def signed(
    environment: str = "staging", *, at: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    body = reconcile_body(environment, now=at or datetime.now(UTC))
    return body, signed_headers(SECRET, body)


def test_a_signed_request_forces_and_triggers_the_poll() -> None:
    agent = Agent()
    response = ask(agent.routes(), *signed())
    assert response.status == 202
    assert json.loads(response.body)["triggered"] is True
    assert agent.triggered == ["staging"]
    assert agent.forced == 1


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Orchestrator-Signature": sign("wrong", b"x")}, {"X-Hub-Signature-256": "sha256=0"}],
)
def test_unsigned_or_badly_signed_requests_do_nothing(headers: dict[str, str]) -> None:
    agent = Agent()
    body, _ = signed()
    assert ask(agent.routes(), body, headers).status == 401
    assert agent.triggered == []
    assert agent.forced == 0


@pytest.mark.parametrize("skew", [MAX_AGE_SECONDS + 5, -(MAX_AGE_SECONDS + 5)])
def test_a_stale_or_future_request_is_refused(skew: float) -> None:
    agent = Agent()
    response = ask(agent.routes(), *signed(at=datetime.now(UTC) - timedelta(seconds=skew)))
    assert response.status == 401
    assert b"from the agent's clock" in response.body
    assert agent.triggered == []


def test_a_request_for_another_environment_is_refused() -> None:
    agent = Agent()
    response = ask(agent.routes(), *signed("production"))
    assert response.status == 409
    assert b"serves staging, not production" in response.body
    assert agent.triggered == []


def test_a_standby_says_so_and_forces_nothing() -> None:
    agent = Agent(leader=False)
    response = ask(agent.routes(), *signed())
    assert response.status == 409
    assert json.loads(response.body) == {
        "environment": "staging",
        "triggered": False,
        "reason": "this replica is a standby; only the leader reconciles",
    }
    assert agent.triggered == []
    assert agent.forced == 0


def test_a_shutting_down_agent_says_so() -> None:
    response = ask(Agent(accepting=False).routes(), *signed())
    assert response.status == 409
    assert b"shutting down" in response.body


def test_a_malformed_signed_body_is_a_bad_request() -> None:
    body = b'{"environment": "staging"}'
    response = ask(Agent().routes(), body, signed_headers(SECRET, body))
    assert response.status == 400


def test_without_a_secret_the_route_says_it_is_disabled() -> None:
    agent = Agent()
    response = ask(agent.routes(secret=None), *signed())
    assert response.status == 404
    assert b"no webhook secret" in response.body
    assert agent.triggered == []


def test_the_body_names_the_environment_and_time() -> None:
    assert json.loads(reconcile_body("prod-eu", now=NOW)) == {
        "environment": "prod-eu",
        "requested_at": "2026-12-03T10:00:00+00:00",
    }
