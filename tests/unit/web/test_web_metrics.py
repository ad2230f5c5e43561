"""The exposition names every documented metric, with its labels, after observations."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.health.status import HealthStatus
from orchestrator.web.metrics import APPLY_ACTIONS, Metrics


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, _ = metrics.render()
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, frozenset({"environment": "staging", **labels}.items()))]


def test_every_metric_appears_with_its_labels_after_observations() -> None:
    metrics = Metrics(environment="staging")
    metrics.observe_reconcile(seconds=1.5, result="success")
    metrics.observe_reconcile(seconds=0.2, result="ApplyFailed")
    metrics.count_applied_many({"created": 2, "unchanged": 40})
    metrics.count_applied("deleted")
    metrics.set_health(HealthStatus.PROGRESSING)
    metrics.count_promotion(target="production", result="promoted")
    metrics.observe_git_fetch(0.3)
    metrics.set_leader(True)
    metrics.count_drift(3)
    metrics.count_push_retry()
    metrics.count_push_retry()
    metrics.observe_delivery_steps({"dry-run": 3.5, "apply": 12.0})

    assert value(metrics, "orchestrator_reconcile_duration_seconds_count", result="success") == 1
    assert value(metrics, "orchestrator_reconcile_duration_seconds_sum", result="ApplyFailed") == (
        pytest.approx(0.2)
    )
    assert value(metrics, "orchestrator_objects_applied_total", action="created") == 2
    assert value(metrics, "orchestrator_objects_applied_total", action="unchanged") == 40
    assert value(metrics, "orchestrator_objects_applied_total", action="deleted") == 1
    assert value(metrics, "orchestrator_objects_applied_total", action="skipped") == 0
    assert value(metrics, "orchestrator_health_status", status="Progressing") == 1
    assert value(metrics, "orchestrator_health_status", status="Healthy") == 0
    assert (
        value(metrics, "orchestrator_promotions_total", target="production", result="promoted") == 1
    )
    assert value(metrics, "orchestrator_git_fetch_duration_seconds_count") == 1
    assert value(metrics, "orchestrator_last_successful_reconcile_timestamp_seconds") > 1.7e9
    assert value(metrics, "orchestrator_leader") == 1
    assert value(metrics, "orchestrator_drift_detected_total") == 3
    assert value(metrics, "orchestrator_push_retries_total") == 2
    step = "orchestrator_delivery_step_duration_seconds"
    assert value(metrics, f"{step}_sum", step="dry-run") == pytest.approx(3.5)
    assert value(metrics, f"{step}_bucket", step="apply", le="10.0") == 0
    assert value(metrics, f"{step}_bucket", step="apply", le="30.0") == 1
    observed = {
        dict(labels)["step"] for name, labels in samples(metrics) if name == f"{step}_count"
    }
    assert observed == {"dry-run", "apply"}  # a step that did not run has no series


def test_health_is_one_hot() -> None:
    metrics = Metrics(environment="staging")
    for status in HealthStatus:
        metrics.set_health(status)
        hot = [
            s.value
            for s in HealthStatus
            if value(metrics, "orchestrator_health_status", status=s.value) == 1
        ]
        assert hot == [status.value]
    metrics.set_health(None)
    assert all(
        value(metrics, "orchestrator_health_status", status=s.value) == 0 for s in HealthStatus
    )


def test_series_that_rate_needs_exist_from_the_start_but_no_fake_success() -> None:
    metrics = Metrics(environment="staging")
    found = samples(metrics)
    for action in APPLY_ACTIONS:
        assert value(metrics, "orchestrator_objects_applied_total", action=action) == 0
    assert value(metrics, "orchestrator_leader") == 0
    assert value(metrics, "orchestrator_push_retries_total") == 0
    # No reconcile has succeeded yet: no timestamp rather than a misleading 0.
    assert not any(
        name == "orchestrator_last_successful_reconcile_timestamp_seconds" for name, _ in found
    )


def test_a_failed_reconcile_does_not_move_the_last_success() -> None:
    metrics = Metrics(environment="staging")
    metrics.mark_reconciled(at=1000.0)
    metrics.observe_reconcile(seconds=1, result="HealthCheckFailed")
    assert value(metrics, "orchestrator_last_successful_reconcile_timestamp_seconds") == 1000.0


def test_the_registry_is_private() -> None:
    Metrics(environment="staging")
    Metrics(environment="staging")  # a second one must not clash
    assert "orchestrator_leader" not in {family.name for family in REGISTRY.collect()}
    metrics = Metrics(environment="staging")
    assert not any(name.startswith(("process_", "python_")) for name, _ in samples(metrics))


def test_invalid_counts_are_refused() -> None:
    metrics = Metrics(environment="staging")
    with pytest.raises(ValueError, match="unknown apply action"):
        metrics.count_applied("replaced")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        metrics.count_applied("created", -1)
    with pytest.raises(ValueError, match="negative"):
        metrics.count_drift(-1)
