"""The severity order, `worst`, and the one-line delivery summary."""

from __future__ import annotations

import subprocess

import pytest

from orchestrator.health.status import (
    SUMMARY_MAX_CHARS,
    DeliveryHealth,
    HealthStatus,
    ObjectHealth,
    worst,
)
from orchestrator.objectref import ObjectRef
from tests.prerequisites import require_command

H, P, U, D, F = (
    HealthStatus.HEALTHY,
    HealthStatus.PROGRESSING,
    HealthStatus.UNKNOWN,
    HealthStatus.DEGRADED,
    HealthStatus.FAILED,
)
DOCUMENTED_ORDER = [H, P, U, D, F]


def _obj(name: str, status: HealthStatus, message: str = "ok") -> ObjectHealth:
    return ObjectHealth(ObjectRef("apps", "Deployment", "app", name), status, message)


def test_severity_follows_the_documented_order() -> None:
    assert sorted(HealthStatus, key=lambda s: s.severity) == DOCUMENTED_ORDER
    assert [s.severity for s in DOCUMENTED_ORDER] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], H),
        ([H, H], H),
        ([H, P], P),
        ([P, U], U),
        ([U, D, P], D),
        ([F, D, U, P, H], F),
        ([D, F], F),
    ],
)
def test_worst(statuses: list[HealthStatus], expected: HealthStatus) -> None:
    assert worst(statuses) is expected
    assert worst(reversed(statuses)) is expected


def test_status_prints_as_its_name() -> None:
    assert str(F) == "Failed"
    assert HealthStatus("Progressing") is P


def test_all_healthy_summary_counts_objects() -> None:
    health = DeliveryHealth.of(_obj(f"web{i}", H) for i in range(12))

    assert health.status is H
    assert health.healthy
    assert health.summary == "Healthy (12/12)"


def test_empty_delivery_is_healthy() -> None:
    assert DeliveryHealth.of([]).summary == "Healthy (0/0)"


def test_summary_names_the_worst_object_and_counts_the_rest() -> None:
    health = DeliveryHealth.of(
        [
            _obj("api", P, "updated replicas: 1/3"),
            _obj("web", F, "progress deadline exceeded"),
            _obj("db", H),
            _obj("cache", D, "replica failure"),
        ]
    )

    assert health.status is F
    assert not health.healthy
    assert health.summary == "Failed: Deployment/app/web: progress deadline exceeded (+2 more)"
    assert [o.ref.name for o in health.not_healthy()] == ["web", "cache", "api"]


def test_summary_ties_keep_the_callers_order() -> None:
    health = DeliveryHealth.of([_obj("b", P, "second"), _obj("a", P, "first")])

    assert health.summary == "Progressing: Deployment/app/b: second (+1 more)"


def test_summary_is_one_bounded_line() -> None:
    message = "line one\nline two\t" + "x" * 500
    health = DeliveryHealth.of([_obj("web", D, message), _obj("api", D)])

    summary = health.summary
    assert "\n" not in summary
    assert "\t" not in summary
    assert len(summary) <= SUMMARY_MAX_CHARS
    assert summary.startswith("Degraded: Deployment/app/web: line one line two x")
    assert summary.endswith("... (+1 more)")


def test_summary_without_message() -> None:
    health = DeliveryHealth.of([_obj("web", U, "")])

    assert health.summary == "Unknown: Deployment/app/web: no message"


def test_summary_survives_git_interpret_trailers() -> None:
    require_command("git")
    health = DeliveryHealth.of(
        [_obj("web", F, 'ReplicaSet "web-85f6b7d9c" has timed out progressing.\nSee events.')]
    )
    message = f"Promote shop to production\n\nDelivery: shop\nHealth: {health.summary}\n"

    parsed = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert f"Health: {health.summary}\n" in parsed
