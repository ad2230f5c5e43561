"""Job: Healthy once complete, Failed once the controller says it failed.

Facts from kstatus and the Job API: `Complete=True` and `Failed=True` are final.
Since Kubernetes 1.31 the controller first sets `SuccessCriteriaMet` or
`FailureTarget` while the pods still terminate; the outcome is already
decided then, so we report it. A suspended Job is Healthy, as in kstatus:
suspension is the author's intent, not a fault. But only while the spec says
suspended too: Jobs have no `observedGeneration`, so right after an apply
that sets `spec.suspend: false` the condition still says `Suspended=True`
until the controller catches up, and reading it then would call a Job
Healthy before it ran. A running Job
is Progressing (kstatus says Current); a delivery that ships a Job, such as a
migration, wants it finished before the delivery counts as healthy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.health.live import (
    Verdict,
    condition,
    conditions,
    get_int,
    get_str,
    labelled,
    lookup,
    not_yet_observed,
)
from orchestrator.health.status import HealthStatus

__all__ = ["check"]


def check(obj: Mapping[str, Any]) -> Verdict:
    if (early := not_yet_observed(obj)) is not None:
        return early
    succeeded = get_int(obj, "status", "succeeded", default=0)
    completions = get_int(obj, "spec", "completions", default=-1)
    done = f"{succeeded}/{completions}" if completions >= 0 else str(succeeded)
    if (finished := _decided(obj, done=done)) is not None:
        return finished
    if (suspension := _suspension(obj)) is not None:
        return suspension
    if not get_str(obj, "status", "startTime"):
        return HealthStatus.PROGRESSING, "waiting for the job to start"
    active = get_int(obj, "status", "active", default=0)
    failed = get_int(obj, "status", "failed", default=0)
    return (
        HealthStatus.PROGRESSING,
        f"running: {active} active, {done} succeeded, {failed} failed",
    )


def _decided(obj: Mapping[str, Any], *, done: str) -> Verdict | None:
    """The verdict of a True terminal condition, failure first."""
    true = {c.type: c for c in conditions(obj) if c.status == "True"}
    for ctype in ("Failed", "FailureTarget"):
        if ctype in true:
            return HealthStatus.FAILED, labelled("job failed", true[ctype].describe())
    if "Complete" in true:
        return HealthStatus.HEALTHY, f"completed: {done} succeeded"
    if "SuccessCriteriaMet" in true:
        return HealthStatus.HEALTHY, f"success criteria met: {done} succeeded"
    return None


def _suspension(obj: Mapping[str, Any]) -> Verdict | None:
    """Healthy when both spec and condition say suspended; Progressing while they disagree."""
    wanted = lookup(obj, "spec", "suspend") is True
    found = condition(obj, "Suspended")
    reported = found is not None and found.status == "True"
    if wanted and reported:
        return HealthStatus.HEALTHY, "suspended"
    if reported:
        return HealthStatus.PROGRESSING, "resuming: waiting for the controller to resume the job"
    if wanted:
        return HealthStatus.PROGRESSING, "suspending: waiting for the controller to suspend the job"
    return None
