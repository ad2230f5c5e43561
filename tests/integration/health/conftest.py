"""A KubeClient on the harness's `staging` cluster, passed where health wants a ClusterAccess."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e.controlplane import Cluster
from orchestrator.health import ClusterAccess
from orchestrator.kube.client import KubeClient


@pytest.fixture(scope="module")
def kube(cluster: Cluster) -> Iterator[KubeClient]:
    client = KubeClient.from_kubeconfig(cluster.kubeconfig)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def access(kube: KubeClient) -> ClusterAccess:
    """The real client, typed as the health package's seam (mypy checks that it fits)."""
    seam: ClusterAccess = kube
    return seam
