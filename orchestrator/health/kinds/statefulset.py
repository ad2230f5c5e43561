"""StatefulSet: every replica ready and, for a rolling update, on the update revision.

StatefulSet controllers set no conditions, so there is no certain failure to
read: a stuck rollout stays Progressing until the wait times out (kstatus
says the same). Without a `status.updateRevision` the revisions cannot be
compared, so `updatedReplicas` and `currentReplicas` must reach the spec.
`OnDelete` means pods are replaced only when someone deletes them, so the
set is Healthy once its replicas are ready; a `partition` means only
ordinals at or above it are updated.
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
    if not update_rev:
        return _update_by_counts(obj, spec=spec, ready=ready)
    pending = first_unmet(
        (
            current_rev == update_rev,
            f"rolling update: {updated}/{spec} replica(s) at revision {update_rev}",
        ),
        (updated >= spec, f"updated replicas: {updated}/{spec}"),
    )
    if pending is not None:
        return HealthStatus.PROGRESSING, pending
    return HealthStatus.HEALTHY, f"{ready}/{spec} replica(s) ready at revision {current_rev}"


def _update_by_counts(obj: Mapping[str, Any], *, spec: int, ready: int) -> Verdict:
    """Without `updateRevision` there is no revision to compare: the counts must say done.

    Older or partial controllers (and status written by hand) leave the
    revisions out; `updatedReplicas` and `currentReplicas` both reach
    `spec.replicas` only once every pod runs the current template. A count
    that is not reported is not held against the set.
    """
    updated = get_int(obj, "status", "updatedReplicas", default=spec)
    current = get_int(obj, "status", "currentReplicas", default=spec)
    pending = first_unmet(
        (updated >= spec, f"updated replicas: {updated}/{spec} (no update revision reported)"),
        (current >= spec, f"current replicas: {current}/{spec} (no update revision reported)"),
    )
    if pending is not None:
        return HealthStatus.PROGRESSING, pending
    return HealthStatus.HEALTHY, f"{ready}/{spec} replica(s) ready and updated"
