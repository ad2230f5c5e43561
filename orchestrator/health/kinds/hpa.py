"""HorizontalPodAutoscaler: Healthy once the autoscaler can scale its target and read its metrics.

The autoscaler reports two conditions that matter: `AbleToScale` (it can read
and update the target's scale subresource; False with `FailedGetScale` means
the target does not exist or has no scale) and `ScalingActive` (it can compute
a replica count from its metrics; False with `FailedGetResourceMetric` means
metrics are missing). Either False is Degraded, not Failed: a target created
later in the same delivery, or a metrics server that starts, clears it
without a change. `ScalingActive=False` with reason `ScalingDisabled` is the
one exception: the target was scaled to zero on purpose, which disables the
autoscaler, so it is Healthy.

`autoscaling/v1` carries the same conditions as JSON in the annotation
`autoscaling.alpha.kubernetes.io/conditions`; it is read when the status has
none. Before the first evaluation there are no conditions: Progressing, as
in gitops-engine. kstatus has no HPA rules and calls it Current.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from orchestrator.health.live import (
    Condition,
    Verdict,
    conditions,
    labelled,
    lookup,
    not_yet_observed,
    stale_condition,
)
from orchestrator.health.status import HealthStatus

__all__ = ["check"]

V1_CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"

# ScalingActive=False for this reason means the target has zero replicas on purpose.
SCALING_DISABLED = "ScalingDisabled"


def check(obj: Mapping[str, Any]) -> Verdict:
    if (early := not_yet_observed(obj)) is not None:
        return early
    found = {c.type: c for c in _hpa_conditions(obj)}
    able, active = found.get("AbleToScale"), found.get("ScalingActive")
    if able is None and active is None:
        return HealthStatus.PROGRESSING, "waiting for the autoscaler's first evaluation"
    for cond in (able, active):
        if cond is not None and (early := stale_condition(obj, cond)) is not None:
            return early
    if (problem := _problem(able, active)) is not None:
        return problem
    current = lookup(obj, "status", "currentReplicas")
    desired = lookup(obj, "status", "desiredReplicas")
    return HealthStatus.HEALTHY, f"able to scale: {current} current, {desired} desired replica(s)"


def _problem(able: Condition | None, active: Condition | None) -> Verdict | None:
    """Degraded for a False condition, except a scaling disabled on purpose; else None."""
    if able is not None and able.status == "False":
        return HealthStatus.DEGRADED, labelled("cannot scale the target", able.describe())
    if active is not None and active.status == "False":
        if active.reason == SCALING_DISABLED:
            return HealthStatus.HEALTHY, labelled("scaling disabled", active.describe())
        return HealthStatus.DEGRADED, labelled("scaling not active", active.describe())
    return None


def _hpa_conditions(obj: Mapping[str, Any]) -> list[Condition]:
    """`status.conditions` (v2), else the v1 annotation's JSON list; [] when unreadable."""
    found = conditions(obj)
    if found:
        return found
    raw = lookup(obj, "metadata", "annotations", V1_CONDITIONS_ANNOTATION)
    if not isinstance(raw, str):
        return []
    try:
        decoded = json.loads(raw)
    except ValueError:
        return []
    return conditions({"status": {"conditions": decoded}})
