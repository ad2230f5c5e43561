"""StatefulSet: every replica ready and, for a rolling update, on the update revision.

StatefulSet controllers set no conditions, so there is no certain failure to
read: a stuck rollout stays Progressing until the wait times out (kstatus
says the same). `OnDelete` means pods are replaced only when someone deletes
them, so the set is Healthy once its replicas are ready; a `partition` means
only ordinals at or above it are updated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.health.live import Verdict, first_unmet, get_int, get_str, not_yet_observed
from orchestrator.health.status import HealthStatus

__all__ = ["check"]


def check(obj: Mapping[str, Any]) -> Verdict:
    if (early := not_yet_observed(obj, require_observed=True)) is not None:
        return early
    spec = get_int(obj, "spec", "replicas", default=1)
    replicas = get_int(obj, "status", "replicas", default=0)
    ready = get_int(obj, "status", "readyReplicas", default=0)
    available = get_int(obj, "status", "availableReplicas", default=ready)
    pending = first_unmet(
        (replicas >= spec, f"replicas: {replicas}/{spec}"),
        (ready >= spec, f"ready replicas: {ready}/{spec}"),
        (available >= spec, f"available replicas: {available}/{spec}"),
        (replicas <= spec, f"waiting for {replicas - spec} extra replica(s) to terminate"),
    )
    if pending is not None:
        return HealthStatus.PROGRESSING, pending
    return _update(obj, spec=spec, ready=ready)


def _update(obj: Mapping[str, Any], *, spec: int, ready: int) -> Verdict:
    """Whether the update strategy's rollout is done, once enough replicas are ready."""
    updated = get_int(obj, "status", "updatedReplicas", default=0)
    strategy = get_str(obj, "spec", "updateStrategy", "type", default="RollingUpdate")
    if strategy == "OnDelete":
        return HealthStatus.HEALTHY, f"{ready}/{spec} ready (OnDelete: pods update when deleted)"
    partition = get_int(obj, "spec", "updateStrategy", "rollingUpdate", "partition", default=0)
    if partition > 0:
        target = max(spec - partition, 0)
        if updated < target:
            return (
                HealthStatus.PROGRESSING,
                f"partitioned rollout: {updated}/{target} replica(s) updated",
            )
        return HealthStatus.HEALTHY, f"partitioned rollout complete: {updated} updated"
    current_rev = get_str(obj, "status", "currentRevision")
    update_rev = get_str(obj, "status", "updateRevision")
    pending = first_unmet(
        (
            not update_rev or current_rev == update_rev,
            f"rolling update: {updated}/{spec} replica(s) at revision {update_rev}",
        ),
        (not update_rev or updated >= spec, f"updated replicas: {updated}/{spec}"),
    )
    if pending is not None:
        return HealthStatus.PROGRESSING, pending
    at = f" at revision {current_rev}" if current_rev else ""
    return HealthStatus.HEALTHY, f"{ready}/{spec} replica(s) ready{at}"
