"""One look at the applied objects: read each from the cluster and judge it.

A missing object is never healthy: right after an apply it means the read raced
the write or someone deleted it, and either way nothing proves it is running.
A read that fails for a reason that may pass (the API server is unreachable, a
just-applied CRD is not served yet) is an Unknown observation, so a wait keeps
polling and its timeout names the cause; any other KubeError (Forbidden) is a
fault of the agent's setup and propagates unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import ClusterUnreachable, UnknownKind
from orchestrator.health.check import object_health
from orchestrator.health.reader import ClusterReader
from orchestrator.health.rules import HealthRules
from orchestrator.health.status import DeliveryHealth, HealthStatus, ObjectHealth
from orchestrator.objectref import ObjectRef

__all__ = ["Target", "observe"]


@dataclass(frozen=True, slots=True)
class Target:
    """An applied object to watch: enough to GET it (the ref alone lacks the version)."""

    api_version: str
    kind: str
    name: str
    namespace: str = ""

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Target:
        """The target of a manifest or of the object the apply returned."""
        meta = obj.get("metadata") or {}
        return cls(
            api_version=str(obj.get("apiVersion", "")),
            kind=str(obj.get("kind", "")),
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace") or ""),
        )

    @property
    def ref(self) -> ObjectRef:
        group = self.api_version.rpartition("/")[0] if "/" in self.api_version else ""
        return ObjectRef(group=group, kind=self.kind, namespace=self.namespace, name=self.name)

    def __str__(self) -> str:
        return str(self.ref)


def observe(
    reader: ClusterReader, targets: Iterable[Target], *, rules: HealthRules | None = None
) -> DeliveryHealth:
    """The health of every target now, in the order given (the apply order)."""
    return DeliveryHealth.of(_one(reader, target, rules=rules) for target in targets)


def _one(reader: ClusterReader, target: Target, *, rules: HealthRules | None) -> ObjectHealth:
    try:
        live = reader.get(
            api_version=target.api_version,
            kind=target.kind,
            name=target.name,
            namespace=target.namespace,
        )
    except (ClusterUnreachable, UnknownKind) as exc:
        return ObjectHealth(target.ref, HealthStatus.UNKNOWN, f"cannot be read: {exc}")
    if live is None:
        return ObjectHealth(target.ref, HealthStatus.UNKNOWN, "not found in the cluster")
    return object_health(live, rules=rules)
