"""Verification runs are bound by the same allowance as the delivery, and read no Secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.promote.policy.run_allowance import run_refusals
from orchestrator.promote.policy.schema import Allow, EnvironmentPolicy, parse_policy

FIXTURES = Path(__file__).with_name("fixtures")


@pytest.fixture
def staging() -> EnvironmentPolicy:
    return parse_policy((FIXTURES / "policy-runs.yaml").read_bytes()).environment("staging")


def _only(policy: EnvironmentPolicy, name: str) -> EnvironmentPolicy:
    return policy.model_copy(
        update={"verification": [t for t in policy.verification if t.name == name]}
    )


def test_a_run_inside_the_allowance_passes(staging: EnvironmentPolicy) -> None:
    policy = _only(staging, "inside")
    assert run_refusals(policy.verification, allow=policy.allow) == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("elsewhere", "Job/kube-system/elsewhere-*: namespace kube-system is not allowed"),
        ("podrun", "Pod/app-web/podrun-*: kind Pod is not in the allowed kinds"),
        ("peeks", "its selector reads Secrets in namespace app-web"),
        ("reads-away", "its selector reads ConfigMap/kube-system/app=web"),
    ],
)
def test_a_run_outside_the_allowance_is_refused_by_name(
    staging: EnvironmentPolicy, name: str, fragment: str
) -> None:
    policy = _only(staging, name)
    (refusal,) = run_refusals(policy.verification, allow=policy.allow)
    assert refusal.startswith(f"verification run {name}: ")
    assert fragment in refusal


def test_secret_reads_need_the_ceiling(staging: EnvironmentPolicy) -> None:
    policy = _only(staging, "peeks")
    assert run_refusals(policy.verification, allow=policy.allow, secret_reads=True) == []


def test_every_refusal_is_reported_at_once(staging: EnvironmentPolicy) -> None:
    assert len(run_refusals(staging.verification, allow=staging.allow)) == 4


def test_an_unrestricted_allowance_still_refuses_secret_reads(staging: EnvironmentPolicy) -> None:
    refusals = run_refusals(staging.verification, allow=Allow())
    assert len(refusals) == 1
    assert "verification run peeks" in refusals[0]
