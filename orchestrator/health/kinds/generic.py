"""Every other kind: kstatus's generic rules plus the common top-level conditions.

In order:

1. terminating or stale generation: Progressing (shared with every kind);
   a condition below that carries its own `observedGeneration` (the
   metav1.Condition convention) must also be current to be trusted;
2. `Stalled=True`: Failed, and `Reconciling=True`: Progressing (the kstatus
   "abnormal-true" conditions, which Flux and others set);
3. the first of `Ready`, `Available`, `Succeeded` the object has decides:
   True is Healthy, Unknown is Progressing, False is Degraded, except for
   `Succeeded=False`, which is Failed: a run (Tekton, Knative build) that
   finished without success never becomes successful;
4. otherwise Healthy: an object with no conditions we know (a ConfigMap, a
   Role) is ready once accepted, as kstatus says.

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
    labelled,
    not_yet_observed,
    stale_condition,
)
from orchestrator.health.status import HealthStatus

__all__ = ["check"]

SUMMARY_CONDITIONS = ("Ready", "Available", "Succeeded")


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
    summary = _summary_condition(obj)
    if summary is not None:
        return summary
    return HealthStatus.HEALTHY, "no status conditions to wait for"


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
