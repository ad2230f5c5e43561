"""The seam through which health checks reach a cluster: an injected object, never an import.

`orchestrator.health` must stay importable and testable without a cluster (the
import-linter `pure-health` contract), so waiting and verification runs talk to
whatever the caller passes in. `orchestrator.kube.client.KubeClient` satisfies
these protocols structurally; unit tests pass an in-memory fake.

The signatures mirror KubeClient's exactly (keyword-only, plain dicts): a
protocol that drifted from the real client would only be caught in production.
Errors are the project's own (`orchestrator.errors.KubeError` and its
subclasses); a missing object is `None` from `get`, not an error.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["ClusterAccess", "ClusterReader"]


class ClusterReader(Protocol):
    """Reading live objects: all that waiting for health and soaking need."""

    def get(
        self, *, api_version: str, kind: str, name: str, namespace: str = ""
    ) -> dict[str, Any] | None: ...

    def list(
        self, *, api_version: str, kind: str, namespace: str = "", label_selector: str = ""
    ) -> builtins.list[dict[str, Any]]: ...


class ClusterAccess(ClusterReader, Protocol):
    """Reading plus creating and deleting: what verification runs need (never update)."""

    def create(self, obj: Mapping[str, Any], *, field_manager: str) -> dict[str, Any]: ...

    def delete(
        self,
        *,
        api_version: str,
        kind: str,
        name: str,
        namespace: str = "",
        propagation: str = "Background",
    ) -> bool: ...
