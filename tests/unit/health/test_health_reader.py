"""KubeClient is a ClusterAccess: same names, keyword-only parameters and defaults.

The assignment in `_kube_client_fits` is what `mypy --strict` checks; the test
below checks the same at run time, so a drifting signature fails `pytest` too.
"""

from __future__ import annotations

import inspect

import pytest

from orchestrator.health.reader import ClusterAccess, ClusterReader
from orchestrator.kube.client import KubeClient

from .health_fakes import FakeCluster


def _kube_client_fits(client: KubeClient) -> ClusterAccess:
    reader: ClusterReader = client
    del reader
    return client


def _fake_fits(fake: FakeCluster) -> ClusterAccess:
    return fake


@pytest.mark.parametrize("method", ["get", "list", "create", "delete"])
def test_kube_client_matches_the_protocol(method: str) -> None:
    wanted = inspect.signature(getattr(ClusterAccess, method))
    actual = inspect.signature(getattr(KubeClient, method))
    for name, param in wanted.parameters.items():
        assert name in actual.parameters, f"KubeClient.{method} lacks {name}"
        have = actual.parameters[name]
        assert have.kind == param.kind, f"KubeClient.{method}({name}) is {have.kind}"
        assert have.default == param.default, f"KubeClient.{method}({name}) default differs"
    extra = [
        p
        for name, p in actual.parameters.items()
        if name not in wanted.parameters and p.default is inspect.Parameter.empty
    ]
    assert not extra, f"KubeClient.{method} requires more than the protocol gives: {extra}"
