"""Fixtures for the apply engine's tests against one real cluster of the harness.

Tests share the session's cluster, so each one works in its own namespace
(the `namespace` fixture), with its own environment name: its own field
manager (`orchestrator-<env>`) and inventory Secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from e2e.controlplane import Cluster
from orchestrator.kube import ApplyOptions, ChangeSet, InventoryStore, PruneOptions, deliver
from orchestrator.kube.client import KubeClient
from orchestrator.manifests import Manifest, load_manifests

FIXTURES = Path(__file__).parent / "fixtures"


def load(fixture: str, *, namespace: str, **params: Any) -> list[Manifest]:
    """The manifests of fixtures/<fixture>, namespaced objects defaulting to `namespace`."""
    root = FIXTURES / fixture
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.yaml"))}
    return load_manifests(
        files, default_namespace=namespace, params={"namespace": namespace, **params}
    )


@pytest.fixture
def kube(cluster: Cluster) -> Iterator[KubeClient]:
    client = KubeClient.from_kubeconfig(cluster.kubeconfig)
    try:
        yield client
    finally:
        client.close()


@dataclass
class Env:
    """One environment of the agent, isolated from other tests."""

    name: str
    namespace: str
    client: KubeClient
    store: InventoryStore

    @property
    def options(self) -> ApplyOptions:
        return ApplyOptions.for_environment(self.name)

    def deliver(
        self,
        manifests: list[Manifest],
        *,
        revision: str = "rev-1",
        force: bool = False,
        prune: bool = True,
        into: ChangeSet | None = None,
    ) -> ChangeSet:
        return deliver(
            self.client,
            manifests,
            store=self.store,
            revision=revision,
            apply=ApplyOptions.for_environment(self.name, force=force),
            prune_options=PruneOptions(enabled=prune),
            into=into,
        )

    def get(self, kind: str, name: str, *, api_version: str = "v1") -> dict[str, Any] | None:
        return self.client.get(
            api_version=api_version, kind=kind, name=name, namespace=self.namespace
        )


@pytest.fixture
def env(kube: KubeClient, namespace: str) -> Env:
    name = f"e{uuid.uuid4().hex[:8]}"
    store = InventoryStore.for_environment(kube, namespace=namespace, environment=name)
    return Env(name=name, namespace=namespace, client=kube, store=store)
