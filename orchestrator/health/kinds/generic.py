"""Every other kind: kstatus's generic rules plus the common top-level conditions.

In order:

1. terminating or stale generation: Progressing (shared with every kind);
   a condition below that carries its own `observedGeneration` (the
   metav1.Condition convention) must also be current to be trusted;
2. `Stalled=True`: Failed, and `Reconciling=True`: Progressing (the kstatus
   "abnormal-true" conditions, which Flux and others set);
3. a `status.health.status` string, the convention of Argo CD Applications
   (and of objects that copy it): Healthy, Progressing, Degraded as they
   say; `Suspended` and `Missing` are Progressing (a paused rollout inside
   the application, or resources not created yet, are not a finished
   delivery); `Unknown` or any other value is Unknown;
4. the first of `Ready`, `Available`, `Succeeded` the object has decides:
   True is Healthy, Unknown is Progressing, False is Degraded, except for
   `Succeeded=False`, which is Failed: a run (Tekton, Knative build) that
   finished without success never becomes successful;
5. otherwise Healthy: an object with no conditions we know (a ConfigMap, a
   Role) is ready once accepted, as kstatus says.

kstatus reads only steps 1 and 2 for kinds it does not know; gitops-engine
reads none of them without a Lua script (Argo CD ships scripts per kind).

`Ready=False` is Degraded rather than Failed because controllers commonly
report it while retrying (Flux, cert-manager); a policy rule can make a kind
stricter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.health.live import (
    Verdict,
    condition,
    get_str,
    labelled,
    not_yet_observed,
    stale_condition,
)
from orchestrator.health.status import HealthStatus

__all__ = ["check"]

SUMMARY_CONDITIONS = ("Ready", "Available", "Succeeded")

# Argo CD's health statuses; anything else is Unknown.
HEALTH_FIELD = {
    "Healthy": HealthStatus.HEALTHY,
    "Progressing": HealthStatus.PROGRESSING,
    "Suspended": HealthStatus.PROGRESSING,
    "Missing": HealthStatus.PROGRESSING,
    "Degraded": HealthStatus.DEGRADED,
}


def check(obj: Mapping[str, Any]) -> Verdict:
    if (early := not_yet_observed(obj)) is not None:
        return early
    stalled = condition(obj, "Stalled")
    if stalled is not None and stalled.status == "True":
        if (early := stale_condition(obj, stalled)) is not None:
            return early
        return HealthStatus.FAILED, labelled("stalled", stalled.describe())
    reconciling = condition(obj, "Reconciling")
    if reconciling is not None and reconciling.status == "True":
        return HealthStatus.PROGRESSING, labelled("reconciling", reconciling.describe())
    summary = _health_field(obj) or _summary_condition(obj)
    if summary is not None:
        return summary
    return HealthStatus.HEALTHY, "no status conditions to wait for"


def _health_field(obj: Mapping[str, Any]) -> Verdict | None:
    """The verdict of an Argo CD style `status.health.status`; None when there is none."""
    value = get_str(obj, "status", "health", "status")
    if not value:
        return None
    message = get_str(obj, "status", "health", "message")
    status = HEALTH_FIELD.get(value, HealthStatus.UNKNOWN)
    return status, labelled(f"health.status {value}", message)


def _summary_condition(obj: Mapping[str, Any]) -> Verdict | None:
    """The verdict of the first of Ready, Available, Succeeded the object reports."""
    for ctype in SUMMARY_CONDITIONS:
        found = condition(obj, ctype)
        if found is None:
            continue
        if (early := stale_condition(obj, found)) is not None:
            return early
        text = labelled(f"{ctype}={found.status}", found.describe())
        if found.status == "True":
            return HealthStatus.HEALTHY, text
        if found.status == "False":
            return (HealthStatus.FAILED if ctype == "Succeeded" else HealthStatus.DEGRADED), text
        return HealthStatus.PROGRESSING, text
    return None
