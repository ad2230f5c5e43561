"""DaemonSet: every node that should run a pod runs an updated, available one.

The DaemonSet controller always writes `status.observedGeneration` and
`status.desiredNumberScheduled`; kstatus treats their absence as "not yet
reconciled", and so do we. `OnDelete` pods are replaced only when deleted, so
only scheduling and availability count for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.health.live import (
    Verdict,
    first_unmet,
    get_int,
    get_str,
    lookup,
    not_yet_observed,
)
from orchestrator.health.status import HealthStatus

__all__ = ["check"]


def check(obj: Mapping[str, Any]) -> Verdict:
    if (early := not_yet_observed(obj, require_observed=True)) is not None:
        return early
    desired = get_int(obj, "status", "desiredNumberScheduled", default=-1)
    if lookup(obj, "status", "observedGeneration") is None or desired < 0:
        return HealthStatus.PROGRESSING, "waiting for the controller to report status"
    scheduled = get_int(obj, "status", "currentNumberScheduled", default=0)
    updated = get_int(obj, "status", "updatedNumberScheduled", default=0)
    available = get_int(obj, "status", "numberAvailable", default=0)
    ready = get_int(obj, "status", "numberReady", default=0)
    on_delete = get_str(obj, "spec", "updateStrategy", "type") == "OnDelete"
    pending = first_unmet(
        (scheduled >= desired, f"scheduled pods: {scheduled}/{desired}"),
        (on_delete or updated >= desired, f"updated pods: {updated}/{desired}"),
        (available >= desired, f"available pods: {available}/{desired}"),
        (ready >= desired, f"ready pods: {ready}/{desired}"),
    )
    if pending is not None:
        return HealthStatus.PROGRESSING, pending
    if desired == 0:
        return HealthStatus.HEALTHY, "no node needs a pod (0 desired)"
    return HealthStatus.HEALTHY, f"{available}/{desired} pod(s) available"
