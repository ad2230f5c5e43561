"""APIService: Healthy once the aggregator reports the backing API Available.

An APIService without an `Available` condition has not been checked by the
aggregator yet: Progressing, as in gitops-engine (the generic rule would call
an object without conditions Healthy at once, before anyone knows whether
the API answers). `Available=False` is Degraded, not Progressing as in
gitops-engine: the aggregated API does not answer, which breaks discovery
for every client of the cluster; the backing Service may still come up in
the same delivery, so the wait goes on. kstatus has no rules for the kind.
APIServices carry no `observedGeneration`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.health.live import Verdict, condition, labelled, not_yet_observed
from orchestrator.health.status import HealthStatus

__all__ = ["check"]


def check(obj: Mapping[str, Any]) -> Verdict:
    if (early := not_yet_observed(obj)) is not None:
        return early
    available = condition(obj, "Available")
    if available is None:
        return HealthStatus.PROGRESSING, "waiting for the aggregator to check the API"
    text = labelled(f"Available={available.status}", available.describe())
    if available.status == "True":
        return HealthStatus.HEALTHY, text
    if available.status == "False":
        return HealthStatus.DEGRADED, text
    return HealthStatus.PROGRESSING, text
