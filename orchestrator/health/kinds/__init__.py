"""Built-in status functions, one module per kind, and the table that picks one.

Each module exposes `check(obj) -> (HealthStatus, message)`: a pure function
of the live object as the API returned it. Kinds are keyed by API group and
kind, never by version: every served version of a kind is the same object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.health.kinds import (
    apiservice,
    crd,
    daemonset,
    deployment,
    generic,
    hpa,
    ingress,
    job,
    pod,
    pvc,
    replicaset,
    service,
    statefulset,
)
from orchestrator.health.live import Verdict

__all__ = ["BUILTIN_CHECKS", "Check", "checker_for"]

Check = Callable[[Mapping[str, Any]], Verdict]

BUILTIN_CHECKS: Mapping[tuple[str, str], Check] = {
    ("apps", "Deployment"): deployment.check,
    ("apps", "StatefulSet"): statefulset.check,
    ("apps", "DaemonSet"): daemonset.check,
    ("apps", "ReplicaSet"): replicaset.check,
    ("", "Pod"): pod.check,
    ("batch", "Job"): job.check,
    ("", "PersistentVolumeClaim"): pvc.check,
    ("", "Service"): service.check,
    ("networking.k8s.io", "Ingress"): ingress.check,
    ("autoscaling", "HorizontalPodAutoscaler"): hpa.check,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): crd.check,
    ("apiregistration.k8s.io", "APIService"): apiservice.check,
}


def checker_for(group: str, kind: str) -> Check:
    """The built-in check for a group and kind; the generic rules for any other."""
    return BUILTIN_CHECKS.get((group, kind), generic.check)
