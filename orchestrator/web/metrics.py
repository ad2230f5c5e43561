"""The agent's Prometheus metrics, behind a small typed facade.

A dedicated registry (not prometheus_client's global one) keeps the exposition to
exactly what is documented in docs/metrics.md, lets tests build as many agents as
they like in one process, and keeps library defaults (process_*, python_*) from
changing what operators see. Callers say what happened (`observe_reconcile`,
`count_applied`, ...) and never touch prometheus objects, so label names and
values stay consistent in one place.

Every metric carries an `environment` label: Prometheus scrapes the agents of
many environments, and queries should not depend on how pods are labelled.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Final, Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from orchestrator.health.status import HealthStatus

ApplyAction = Literal["created", "configured", "unchanged", "deleted", "skipped"]
APPLY_ACTIONS: Final[tuple[ApplyAction, ...]] = get_args(ApplyAction)

# Reconciles range from a no-op (sub-second) to a health wait of many minutes.
RECONCILE_BUCKETS: Final = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
GIT_FETCH_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# One step of a delivery: from a few milliseconds (a no-op inventory read) to
# minutes (applying thousands of objects, waiting for a CRD).
DELIVERY_STEP_BUCKETS: Final = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

RECONCILE_SUCCESS: Final = "success"


class Metrics:
    """Everything the agent reports to Prometheus, for one environment."""

    def __init__(self, *, environment: str, registry: CollectorRegistry | None = None) -> None:
        self.environment = environment
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._reconcile_duration = self._histogram(
            "orchestrator_reconcile_duration_seconds",
            "Duration of one reconcile, by result (success, or the failing stage's reason).",
            "result",
            buckets=RECONCILE_BUCKETS,
        )
        self._objects_applied = self._counter(
            "orchestrator_objects_applied_total",
            "Objects handled by apply and prune, by what happened to them.",
            "action",
        )
        self._health_status = self._gauge(
            "orchestrator_health_status",
            "The delivery's health: 1 for the current status, 0 for the others.",
            "status",
        )
        self._promotions = self._counter(
            "orchestrator_promotions_total",
            "Promotion attempts, by target environment and result.",
            "target",
            "result",
        )
        self._delivery_step_duration = self._histogram(
            "orchestrator_delivery_step_duration_seconds",
            "Duration of one step of applying a delivery to the cluster "
            "(discovery, live, dry-run, crds, apply, prune, inventory).",
            "step",
            buckets=DELIVERY_STEP_BUCKETS,
        )
        self._git_fetch_duration = self._histogram(
            "orchestrator_git_fetch_duration_seconds",
            "Duration of one fetch from the shared repository.",
            buckets=GIT_FETCH_BUCKETS,
        )
        self._last_success = self._gauge(
            "orchestrator_last_successful_reconcile_timestamp_seconds",
            "Unix time at which a reconcile last succeeded.",
        )
        self._leader = self._gauge(
            "orchestrator_leader",
            "1 while this replica holds the leader Lease (and may reconcile), else 0.",
        )
        self._notifications = self._counter(
            "orchestrator_notifications_total",
            "Notifications by target and result: sent, failed (attempts used up or refused), "
            "dropped (the queue was full).",
            "target",
            "result",
        )
        self._drift = self._counter(
            "orchestrator_drift_detected_total",
            "Live objects found changed from the applied revision and put back (self-heal).",
        )
        self._push_retries = self._counter(
            "orchestrator_push_retries_total",
            "Compare-and-swap pushes to the shared repository that lost a race and were retried.",
        )
        self._precreate()

    # Every metric is labelled by environment first, then by `by`.

    def _histogram(
        self, name: str, documentation: str, *by: str, buckets: tuple[float, ...]
    ) -> Histogram:
        labels = ["environment", *by]
        return Histogram(name, documentation, labels, buckets=buckets, registry=self.registry)

    def _counter(self, name: str, documentation: str, *by: str) -> Counter:
        return Counter(name, documentation, ["environment", *by], registry=self.registry)

    def _gauge(self, name: str, documentation: str, *by: str) -> Gauge:
        return Gauge(name, documentation, ["environment", *by], registry=self.registry)

    def _precreate(self) -> None:
        """The series whose absence would mislead: rate() needs a starting 0, and a
        one-hot gauge should always show every status."""
        environment = self.environment
        for action in APPLY_ACTIONS:
            self._objects_applied.labels(environment, action)
        for status in HealthStatus:
            self._health_status.labels(environment, status.value).set(0)
        self._leader.labels(environment).set(0)
        self._drift.labels(environment)
        self._push_retries.labels(environment)

    # -- what happened --------------------------------------------------------------

    def observe_reconcile(self, *, seconds: float, result: str = RECONCILE_SUCCESS) -> None:
        """One finished reconcile. Keep `result` to a small fixed set (stage reasons)."""
        self._reconcile_duration.labels(self.environment, result).observe(max(0.0, seconds))
        if result == RECONCILE_SUCCESS:
            self.mark_reconciled()

    def mark_reconciled(self, at: float | None = None) -> None:
        """Record a successful reconcile at `at` (Unix seconds; default now)."""
        self._last_success.labels(self.environment).set(time.time() if at is None else at)

    def count_applied(self, action: ApplyAction, count: int = 1) -> None:
        if action not in APPLY_ACTIONS:
            raise ValueError(f"unknown apply action {action!r}; one of {APPLY_ACTIONS}")
        if count < 0:
            raise ValueError("an applied-object count cannot be negative")
        if count:
            self._objects_applied.labels(self.environment, action).inc(count)

    def count_applied_many(self, counts: Mapping[ApplyAction, int]) -> None:
        """A whole change set at once, e.g. {"created": 2, "unchanged": 40}."""
        for action, count in counts.items():
            self.count_applied(action, count)

    def observe_delivery_steps(self, durations: Mapping[str, float]) -> None:
        """The steps one delivery ran, e.g. {"dry-run": 3.8, "apply": 13.3}."""
        for step, seconds in durations.items():
            self._delivery_step_duration.labels(self.environment, str(step)).observe(
                max(0.0, seconds)
            )

    def set_health(self, status: HealthStatus | None) -> None:
        """One-hot: the current status is 1, all others 0 (None: all 0, not yet known)."""
        for candidate in HealthStatus:
            value = 1.0 if candidate is status else 0.0
            self._health_status.labels(self.environment, candidate.value).set(value)

    def count_promotion(self, *, target: str, result: str) -> None:
        """A promotion attempt to `target`: e.g. result promoted, unchanged, gated, failed."""
        self._promotions.labels(self.environment, target, result).inc()

    def count_notification(self, target: str, result: str) -> None:
        """A notification to `target` ended: sent, failed or dropped."""
        self._notifications.labels(self.environment, target, result).inc()

    def observe_git_fetch(self, seconds: float) -> None:
        self._git_fetch_duration.labels(self.environment).observe(max(0.0, seconds))

    def set_leader(self, leading: bool) -> None:
        self._leader.labels(self.environment).set(1 if leading else 0)

    def count_drift(self, objects: int = 1) -> None:
        """Objects a drift check found changed (and re-applied)."""
        if objects < 0:
            raise ValueError("a drift count cannot be negative")
        if objects:
            self._drift.labels(self.environment).inc(objects)

    def count_push_retry(self) -> None:
        """A push lost its compare-and-swap (another writer moved the ref) and is retried."""
        self._push_retries.labels(self.environment).inc()

    # -- exposition -----------------------------------------------------------------

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition in the format the scraper asked for: (body, content type)."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type
