"""PersistentVolumeClaim: Bound is Healthy, Lost is Failed.

`Lost` means the bound PersistentVolume is gone: nothing recovers the data
without a change, so it is Failed (gitops-engine says Degraded). `Pending` is
Progressing, including for a StorageClass with `WaitForFirstConsumer`, which
binds only once a pod uses the claim; we cannot see the class from the claim.
A claim being resized is Progressing until the resize finishes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.health.live import Verdict, condition, get_str, labelled, not_yet_observed
from orchestrator.health.status import HealthStatus

__all__ = ["check"]


def check(obj: Mapping[str, Any]) -> Verdict:
    if (early := not_yet_observed(obj)) is not None:
        return early
    phase = get_str(obj, "status", "phase")
    if phase == "Bound":
        for ctype in ("Resizing", "FileSystemResizePending"):
            resizing = condition(obj, ctype)
            if resizing is not None and resizing.status == "True":
                return HealthStatus.PROGRESSING, labelled(f"bound, {ctype}", resizing.message)
        return HealthStatus.HEALTHY, "bound"
    if phase == "Lost":
        return HealthStatus.FAILED, "lost: the bound PersistentVolume no longer exists"
    if phase in ("Pending", ""):
        return HealthStatus.PROGRESSING, "pending: waiting for a volume to be bound"
    return HealthStatus.UNKNOWN, f"phase {phase}"
