"""The one way this project names a Kubernetes object: `Kind/namespace/name`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True, slots=True)
class ObjectRef:
    """Identity of an object, independent of its content.

    `group` is the API group ("" for the core group); it keeps `Deployment`
    of `apps` apart from a CRD that happens to share the kind name.
    """

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ObjectRef:
        """The ref of a manifest or live object (a plain dict)."""
        api_version = str(obj.get("apiVersion", ""))
        group = api_version.rpartition("/")[0] if "/" in api_version else ""
        meta = obj.get("metadata") or {}
        return cls(
            group=group,
            kind=str(obj.get("kind", "")),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name", "")),
        )
