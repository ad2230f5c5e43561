"""Fixtures for tests that need real clusters from the e2e harness.

Clusters are started once per test session, on first use, and stopped at its end.
When the control plane cannot be had, a test is skipped locally (with the reason)
but fails loudly in CI (CI=true): integration coverage never disappears silently.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from e2e.controlplane import (
    BuildError,
    Cluster,
    ControlPlane,
    ControlPlaneError,
    ensure_binaries,
)
from tests.prerequisites import unavailable

STANDARD_CLUSTERS = ("build", "staging", "production")


class ClusterPool:
    """Clusters by name, started on demand and shared by the whole session."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.plane: ControlPlane | None = None
        self.error: str | None = None

    def get(self, names: Sequence[str]) -> dict[str, Cluster]:
        if self.error is not None:
            unavailable(f"control plane: {self.error}")
        try:
            if self.plane is None:
                self.plane = ControlPlane(directory=self.directory, binaries=ensure_binaries())
            return self.plane.start(list(names))
        except (BuildError, ControlPlaneError) as exc:
            self.error = str(exc)
            unavailable(f"control plane: {self.error}")
            raise  # unreachable: unavailable() always raises

    def close(self) -> None:
        if self.plane is not None:
            self.plane.stop()


@pytest.fixture(scope="session")
def controlplane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterPool]:
    pool = ClusterPool(tmp_path_factory.mktemp("controlplane"))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session")
def clusters(controlplane: ClusterPool) -> dict[str, Cluster]:
    """Three isolated clusters: build, staging, production."""
    return controlplane.get(STANDARD_CLUSTERS)


@pytest.fixture(scope="session")
def cluster(controlplane: ClusterPool) -> Cluster:
    """One cluster for tests that need only one (it is the set's `staging`)."""
    return controlplane.get(["staging"])["staging"]


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace in `cluster`, deleted after the test."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    admin = cluster.admin()
    resp = admin.request(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    assert resp.ok, resp.body
    try:
        yield name
    finally:
        admin.request("DELETE", f"/api/v1/namespaces/{name}")
