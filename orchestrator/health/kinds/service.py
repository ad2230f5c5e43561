"""Service: only a LoadBalancer waits, for its provider to publish an ingress entry.

Every other type is usable as soon as the API server accepted it (kstatus
treats them as Current). A LoadBalancer without any `status.loadBalancer.ingress`
entry has not been provisioned yet; it stays Progressing until the cloud
provider (or MetalLB, or nobody) publishes one, and the wait's timeout
bounds that. Where nothing ever provisions load balancers, a health rule
overrides this (docs/health.md shows one).

An entry with neither `ip` nor `hostname` is Healthy: the provider has acted
and reported the balancer, it just publishes no address (as gitops-engine,
which counts any entry; kstatus does not look at the entries at all).
Waiting on would only run into the timeout: the address is not coming.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.health.live import Verdict, get_str, lookup, not_yet_observed
from orchestrator.health.status import HealthStatus

__all__ = ["check", "ingress_points"]


def check(obj: Mapping[str, Any]) -> Verdict:
    if (early := not_yet_observed(obj)) is not None:
        return early
    kind = get_str(obj, "spec", "type", default="ClusterIP") or "ClusterIP"
    if kind != "LoadBalancer":
        return HealthStatus.HEALTHY, f"type {kind}: ready once accepted"
    entries, points = ingress_points(obj)
    if points:
        return HealthStatus.HEALTHY, f"load balancer ready at {', '.join(points)}"
    if entries:
        return (
            HealthStatus.HEALTHY,
            "load balancer provisioned; its ingress entry has no ip or hostname",
        )
    return HealthStatus.PROGRESSING, "waiting for the load balancer's ingress address"


def ingress_points(obj: Mapping[str, Any]) -> tuple[int, list[str]]:
    """How many `status.loadBalancer.ingress` entries there are, and their addresses."""
    ingress = lookup(obj, "status", "loadBalancer", "ingress")
    if not isinstance(ingress, Sequence) or isinstance(ingress, str):
        return 0, []
    entries = [item for item in ingress if isinstance(item, Mapping)]
    points: list[str] = []
    for item in entries:
        point = item.get("ip") or item.get("hostname")
        if isinstance(point, str) and point:
            points.append(point)
    return len(entries), points
