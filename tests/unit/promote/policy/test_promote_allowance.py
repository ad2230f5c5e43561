"""The cluster's ceiling bounds the policy's `allow`: a policy may narrow it, never widen it."""

from __future__ import annotations

import pytest

from orchestrator.errors import PolicyError
from orchestrator.objectref import ObjectRef
from orchestrator.promote.policy.allowance import effective_allowance
from orchestrator.promote.policy.schema import Allow
from orchestrator.settings import CeilingSettings

DEPLOY = ObjectRef(group="apps", kind="Deployment", namespace="shop", name="web")
ROLE = ObjectRef(group="rbac.authorization.k8s.io", kind="ClusterRole", namespace="", name="x")


def _allow(**fields: object) -> Allow:
    return Allow.model_validate(fields)


def test_an_open_ceiling_keeps_the_policy_as_written() -> None:
    allowance = effective_allowance(
        _allow(namespaces=["shop"]), CeilingSettings(), environment="staging"
    )
    assert allowance.refusal(DEPLOY, namespaced=True) is None
    other = ObjectRef(group="apps", kind="Deployment", namespace="other", name="web")
    refused = allowance.refusal(other, namespaced=True)
    assert refused is not None
    assert "namespace other is not allowed" in refused


def test_an_empty_policy_list_means_the_ceiling() -> None:
    ceiling = CeilingSettings(namespaces=["shop", "team-*"], kinds=["apps/Deployment"])
    allowance = effective_allowance(_allow(), ceiling, environment="staging")
    assert allowance.namespaces == ("shop", "team-*")
    assert allowance.refusal(DEPLOY, namespaced=True) is None
    cm = ObjectRef(group="", kind="ConfigMap", namespace="shop", name="c")
    assert "kind ConfigMap is not in the allowed kinds" in (
        allowance.refusal(cm, namespaced=True) or ""
    )


def test_cluster_scoped_needs_the_ceiling() -> None:
    with pytest.raises(PolicyError) as caught:
        effective_allowance(_allow(clusterScoped=True), CeilingSettings(), environment="prod")
    assert "environments.prod.allow.clusterScoped" in str(caught.value)
    assert "trust.ceiling.cluster_scoped" in str(caught.value)
    allowed = effective_allowance(
        _allow(clusterScoped=True), CeilingSettings(cluster_scoped=True), environment="prod"
    )
    assert allowed.refusal(ROLE, namespaced=False) is None
    narrowed = effective_allowance(
        _allow(), CeilingSettings(cluster_scoped=True), environment="prod"
    )
    assert "cluster-scoped" in (narrowed.refusal(ROLE, namespaced=False) or "")


@pytest.mark.parametrize(
    ("wanted", "ceiling"),
    [
        (["shop"], ["shop"]),
        (["team-a"], ["team-*"]),
        (["team-a-*"], ["team-*"]),
        (["team-*"], ["team-*"]),
        (["x"], ["*"]),
        (["x-*"], ["*"]),
    ],
)
def test_namespaces_within_the_ceiling_are_accepted(wanted: list[str], ceiling: list[str]) -> None:
    allowance = effective_allowance(
        _allow(namespaces=wanted), CeilingSettings(namespaces=ceiling), environment="staging"
    )
    assert allowance.namespaces == tuple(wanted)


@pytest.mark.parametrize(
    ("wanted", "ceiling"),
    [
        (["kube-system"], ["shop"]),
        (["*"], ["shop"]),
        (["team-*"], ["team-a*"]),
        (["t*"], ["team-*"]),
        (["team-?"], ["team-a"]),
        (["shop", "kube-system"], ["shop"]),
    ],
)
def test_namespaces_beyond_the_ceiling_are_refused(wanted: list[str], ceiling: list[str]) -> None:
    with pytest.raises(PolicyError) as caught:
        effective_allowance(
            _allow(namespaces=wanted), CeilingSettings(namespaces=ceiling), environment="staging"
        )
    text = str(caught.value)
    assert "environments.staging.allow.namespaces[" in text
    assert "trust.ceiling.namespaces" in text


def test_kinds_may_narrow_to_a_group_but_not_widen_to_any_group() -> None:
    ceiling = CeilingSettings(kinds=["Deployment", "apps/StatefulSet"])
    ok = effective_allowance(_allow(kinds=["apps/Deployment"]), ceiling, environment="staging")
    assert ok.kinds == ("apps/Deployment",)
    with pytest.raises(PolicyError) as caught:
        effective_allowance(_allow(kinds=["StatefulSet"]), ceiling, environment="staging")
    assert "environments.staging.allow.kinds[0]: 'StatefulSet' is outside" in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    ceiling = CeilingSettings(namespaces=["shop"], kinds=["ConfigMap"])
    with pytest.raises(PolicyError) as caught:
        effective_allowance(
            _allow(namespaces=["a"], kinds=["Secret"], clusterScoped=True),
            ceiling,
            environment="staging",
        )
    assert len(caught.value.problems) == 3


def test_secret_reads_come_only_from_the_ceiling() -> None:
    assert not effective_allowance(_allow(), CeilingSettings(), environment="s").secret_reads
    assert effective_allowance(
        _allow(), CeilingSettings(secret_reads=True), environment="s"
    ).secret_reads
