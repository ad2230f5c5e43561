"""Events and notification messages built from note entries: plain values in, plain values out."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from orchestrator.gitbus.protocol import NoteEntry
from orchestrator.report import Reporter, Route, phase_event, render
from orchestrator.report.notify import SIGNATURE_HEADER

REVISION = "4150554" + "0" * 33


def _entry(phase: str, **fields: Any) -> NoteEntry:
    base: dict[str, Any] = {
        "environment": "staging",
        "revision": REVISION,
        "delivery": "feature-a",
        "started": "2026-12-03T10:00:00Z",
    }
    return NoteEntry(
        id=f"{phase.lower()}-0123456789abcdef",
        at="2026-12-03T10:00:01.250000Z",
        agent="staging-agent",
        phase=phase,
        fields={**base, **fields},
    )


def test_a_failure_is_a_warning_event_about_the_environment_inventory() -> None:
    entry = _entry("Failed", stage="HealthCheckFailed", message="Deployment/shop/web: 0/2 ready")
    event = phase_event(
        entry,
        namespace="orchestrator-system",
        regarding="orchestrator-inventory-staging",
        reporting_instance="staging-agent",
    )
    assert event["type"] == "Warning"
    assert (event["reason"], event["action"]) == ("Failed", "HealthCheckFailed")
    assert event["note"] == (
        "staging@415055400000 (feature-a): Failed: Deployment/shop/web: 0/2 ready"
    )
    assert event["regarding"] == {
        "apiVersion": "v1",
        "kind": "Secret",
        "namespace": "orchestrator-system",
        "name": "orchestrator-inventory-staging",
    }
    assert event["metadata"]["name"] == "orchestrator-inventory-staging.failed-0123456789abcdef"
    assert event["eventTime"] == "2026-12-03T10:00:01.250000Z"


def test_a_healthy_event_is_normal_and_whole_second_times_get_microseconds() -> None:
    entry = NoteEntry(
        id="healthy-1", at="2026-12-03T10:00:01Z", agent="a", phase="Healthy", fields={}
    )
    event = phase_event(entry, namespace="ns", regarding="inv", reporting_instance="a")
    assert (event["type"], event["action"]) == ("Normal", "Reconcile")
    assert event["eventTime"] == "2026-12-03T10:00:01.000000Z"


def test_a_long_message_is_cut_to_what_the_api_server_accepts() -> None:
    event = phase_event(
        _entry("Failed", message="é" * 2000),
        namespace="ns",
        regarding="inv",
        reporting_instance="a",
    )
    assert len(event["note"].encode()) <= 1024
    assert event["note"].endswith("...")


def test_generic_messages_are_signed_over_the_exact_body() -> None:
    route = Route(name="ops", url="http://127.0.0.1:1/hook", secret="s3cret")
    message = render(
        _entry("Promoted", promotions=[{"target": "production", "pushed": True}]), route
    )
    body = json.loads(message.body)
    assert body["phase"] == "Promoted"
    assert body["promotions"] == [{"target": "production"}]
    expected = hmac.new(b"s3cret", message.body, hashlib.sha256).hexdigest()
    assert message.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert message.headers["Content-Type"] == "application/json"


def test_cloudevents_are_structured_mode_with_the_entry_as_data() -> None:
    route = Route(name="bus", url="http://127.0.0.1:1/", format="cloudevents")
    message = render(_entry("Healthy", health="Healthy (2/2)"), route)
    event = json.loads(message.body)
    assert message.headers["Content-Type"] == "application/cloudevents+json"
    assert SIGNATURE_HEADER not in message.headers
    assert event["specversion"] == "1.0"
    assert event["type"] == "dev.orchestrator.delivery.phase"
    assert (event["source"], event["id"], event["subject"]) == (
        "orchestrator/staging",
        "healthy-0123456789abcdef",
        REVISION,
    )
    assert event["data"]["health"] == "Healthy (2/2)"


def test_slack_text_says_where_what_and_why() -> None:
    route = Route(name="chat", url="http://127.0.0.1:1/", format="slack")
    message = render(_entry("Failed", stage="ApplyFailed", message="forbidden"), route)
    text = json.loads(message.body)["text"]
    assert text == ":x: *staging* feature-a `415055400000` Failed\nApplyFailed: forbidden"


def test_only_the_entry_fields_people_act_on_leave_the_agent() -> None:
    """Objects lists and anything unknown stay in the note."""
    entry = _entry("Healthy", objects=[{"object": "Secret/shop/db"}], params={"password": "x"})
    body = json.loads(render(entry, Route(name="ops", url="http://127.0.0.1:1/")).body)
    assert "objects" not in body
    assert "params" not in body
    assert "password" not in json.dumps(body)


@pytest.mark.parametrize(
    ("environments", "phases", "wanted"),
    [
        ((), (), True),
        (("staging",), (), True),
        (("production",), (), False),
        ((), ("Failed", "RolledBack"), False),
        (("staging",), ("Healthy",), True),
    ],
)
def test_routes_filter_by_environment_and_phase(
    environments: tuple[str, ...], phases: tuple[str, ...], wanted: bool
) -> None:
    route = Route(
        name="r",
        url="http://127.0.0.1:1/",
        environments=frozenset(environments),
        phases=frozenset(phases),
    )
    assert route.wants(_entry("Healthy")) is wanted


def test_a_route_never_shows_its_url_or_secret() -> None:
    route = Route(name="chat", url="https://hooks.example/T000/B000/XXXX", secret="k")
    assert "XXXX" not in repr(route)
    assert "'k'" not in repr(route)


class _Sink:
    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def create(self, obj: dict[str, Any], *, field_manager: str) -> dict[str, Any]:
        self.created.append(obj)
        return obj


def test_the_reporter_writes_one_event_per_entry() -> None:
    sink = _Sink()
    reporter = Reporter(
        namespace="ns", regarding="inv", reporting_instance="a", events=sink, routes=()
    )
    reporter(_entry("Healthy"))
    reporter(_entry("Promoted"))
    assert [e["reason"] for e in sink.created] == ["Healthy", "Promoted"]
