"""ReplicaSet: the wanted number of pods exist, are ready and available.

`ReplicaFailure=True` (quota exceeded, admission refused) is Degraded: the
controller keeps retrying and the cause may clear without a new delivery.
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
    not_yet_observed,
)
from orchestrator.health.status import HealthStatus

__all__ = ["check"]


def check(obj: Mapping[str, Any]) -> Verdict:
    if (early := not_yet_observed(obj, require_observed=True)) is not None:
        return early
    failure = condition(obj, "ReplicaFailure")
    if failure is not None and failure.status == "True":
        return HealthStatus.DEGRADED, labelled("replica failure", failure.describe())
    spec = get_int(obj, "spec", "replicas", default=1)
    replicas = get_int(obj, "status", "replicas", default=0)
    ready = get_int(obj, "status", "readyReplicas", default=0)
    available = get_int(obj, "status", "availableReplicas", default=0)
    pending = first_unmet(
        (replicas >= spec, f"replicas: {replicas}/{spec}"),
        (ready >= spec, f"ready replicas: {ready}/{spec}"),
        (available >= spec, f"available replicas: {available}/{spec}"),
        (replicas <= spec, f"waiting for {replicas - spec} extra pod(s) to terminate"),
    )
    if pending is not None:
        return HealthStatus.PROGRESSING, pending
    return HealthStatus.HEALTHY, f"{available}/{spec} replica(s) available"
