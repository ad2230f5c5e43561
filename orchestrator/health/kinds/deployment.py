"""Deployment: rolled out when every replica runs the current template and is available.

Facts from kstatus and gitops-engine: `spec.replicas` defaults to 1; the
controller's `Progressing` condition with reason `ProgressDeadlineExceeded` is
the one certain failure (the controller gave up); `ReplicaFailure=True` means
pods cannot be created (quota, admission) and may clear on its own.

A paused Deployment whose rollout is complete is Healthy; one whose rollout is
incomplete is Degraded, not Progressing: nothing moves until someone resumes
it, but resuming out of band is a normal operator step, so it is not Failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.health.live import (
    Verdict,
    condition,
    first_unmet,
    get_int,
    labelled,
    lookup,
    not_yet_observed,
)
from orchestrator.health.status import HealthStatus

__all__ = ["check"]


def check(obj: Mapping[str, Any]) -> Verdict:
    if (early := not_yet_observed(obj, require_observed=True)) is not None:
        return early
    progressing = condition(obj, "Progressing")
    if progressing is not None and progressing.reason == "ProgressDeadlineExceeded":
        return HealthStatus.FAILED, labelled("progress deadline exceeded", progressing.message)
    failure = condition(obj, "ReplicaFailure")
    if failure is not None and failure.status == "True":
        return HealthStatus.DEGRADED, labelled("replica failure", failure.describe())

    paused = lookup(obj, "spec", "paused") is True
    pending = _rollout_pending(obj, paused=paused)
    if pending is not None:
        if paused:
            return HealthStatus.DEGRADED, f"paused with rollout incomplete: {pending}"
        return HealthStatus.PROGRESSING, pending
    available = get_int(obj, "status", "availableReplicas", default=0)
    message = f"rollout complete: {available} replica(s) available"
    return HealthStatus.HEALTHY, message + (" (paused)" if paused else "")


def _rollout_pending(obj: Mapping[str, Any], *, paused: bool) -> str | None:
    """What the rollout still waits for, or None when it is complete."""
    spec = get_int(obj, "spec", "replicas", default=1)
    replicas = get_int(obj, "status", "replicas", default=0)
    updated = get_int(obj, "status", "updatedReplicas", default=0)
    ready = get_int(obj, "status", "readyReplicas", default=0)
    available = get_int(obj, "status", "availableReplicas", default=0)
    available_cond = condition(obj, "Available")
    progressing = condition(obj, "Progressing")
    # Without progressDeadlineSeconds the controller sets no Progressing condition;
    # when paused it reports DeploymentPaused. Neither says the rollout is stuck.
    new_rs_available = (
        paused
        or progressing is None
        or (progressing.status == "True" and progressing.reason == "NewReplicaSetAvailable")
    )
    return first_unmet(
        (updated >= spec, f"updated replicas: {updated}/{spec}"),
        (replicas <= updated, f"waiting for {replicas - updated} old replica(s) to terminate"),
        (available >= updated, f"available replicas: {available}/{updated}"),
        (ready >= spec, f"ready replicas: {ready}/{spec}"),
        (
            available_cond is None or available_cond.status == "True",
            labelled(
                "deployment not available", available_cond.describe() if available_cond else ""
            ),
        ),
        (
            new_rs_available,
            labelled(
                "new replica set not yet available", progressing.describe() if progressing else ""
            ),
        ),
    )
