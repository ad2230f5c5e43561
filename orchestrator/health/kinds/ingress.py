"""Ingress: usable once accepted; the load balancer address is reported, not waited for.

gitops-engine keeps an Ingress Progressing until `status.loadBalancer.ingress`
has an entry; kstatus calls it Current at once. We side with kstatus: many
ingress controllers never publish an address (ingress-nginx without
`--publish-service`, Traefik without `publishedService`, clusters whose
controller is installed later or not at all), and waiting for one would
fail every delivery there at the health timeout for nothing. The message
says which case it is. A platform whose controller does publish can make
the address required with a health rule (docs/health.md shows one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.health.kinds.service import ingress_points
from orchestrator.health.live import Verdict, not_yet_observed
from orchestrator.health.status import HealthStatus

__all__ = ["check"]


def check(obj: Mapping[str, Any]) -> Verdict:
    if (early := not_yet_observed(obj)) is not None:
        return early
    entries, points = ingress_points(obj)
    if points:
        return HealthStatus.HEALTHY, f"load balancer address: {', '.join(points)}"
    if entries:
        return HealthStatus.HEALTHY, "accepted; the load balancer entry has no ip or hostname"
    return (
        HealthStatus.HEALTHY,
        "accepted; no load balancer address published (not waited for)",
    )
