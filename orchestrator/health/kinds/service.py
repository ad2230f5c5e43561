"""Service: only a LoadBalancer waits, for its ingress point to be published.

Every other type is usable as soon as the API server accepted it (kstatus
treats them as Current). A LoadBalancer without `status.loadBalancer.ingress`
has no address yet; it stays Progressing until the cloud provider (or
MetalLB, or nobody) publishes one, and the wait's timeout bounds that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.health.live import Verdict, get_str, lookup, not_yet_observed
from orchestrator.health.status import HealthStatus

__all__ = ["check"]


def check(obj: Mapping[str, Any]) -> Verdict:
    if (early := not_yet_observed(obj)) is not None:
        return early
    kind = get_str(obj, "spec", "type", default="ClusterIP") or "ClusterIP"
    if kind != "LoadBalancer":
        return HealthStatus.HEALTHY, f"type {kind}: ready once accepted"
    ingress = lookup(obj, "status", "loadBalancer", "ingress")
    points: list[str] = []
    if isinstance(ingress, Sequence) and not isinstance(ingress, str):
        for item in ingress:
            if isinstance(item, Mapping):
                point = item.get("ip") or item.get("hostname")
                if isinstance(point, str) and point:
                    points.append(point)
    if not points:
        return HealthStatus.PROGRESSING, "waiting for the load balancer's ingress address"
    return HealthStatus.HEALTHY, f"load balancer ready at {', '.join(points)}"
