"""The policy file is validated strictly: a mistake stops, never widens, a delivery."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import PolicyError
from orchestrator.objectref import ObjectRef
from orchestrator.promote.policy.schema import Allow, parse_duration, parse_policy

FIXTURES = Path(__file__).with_name("fixtures")


def test_full_policy_reads_every_section() -> None:
    policy = parse_policy((FIXTURES / "policy-full.yaml").read_bytes())
    staging = policy.environment("staging")
    assert staging.promotion.to == ["production-eu", "production-us"]
    assert staging.health.timeout_seconds == 120
    assert staging.health.soak_seconds == 30
    assert staging.health.rules.rule_for("example.com", "Widget") is not None
    assert staging.verification[0].name == "smoke"
    assert staging.gates.windows[0].duration_seconds == 8 * 3600
    assert staging.promoted_paths == ["manifests"]
    assert policy.environment("production-eu").promotion.mode == "auto"
    assert policy.environment("production-us").apply.prune is True
    # A PR per delivery by default; automatic promotion moves the verified state whole.
    assert staging.promotion.unit is None
    assert staging.promotion.effective_unit == "delivery"
    assert policy.environment("production-eu").promotion.effective_unit == "snapshot"
    assert policy.environment("production-us").promotion.effective_unit == "delivery"


def test_every_problem_of_a_broken_policy_is_named() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy((FIXTURES / "policy-bad.yaml").read_bytes())
    text = str(caught.value)
    assert text.startswith(".orchestrator/policy.yaml: invalid policy")
    for fragment in (
        "environments.staging.promotion.mode",
        "environments.staging.promotion.unit",
        "environments.staging.health.timeout",
        "'soon' is not a duration",
        "environments.staging.gates.windows.0.schedule",
        "environments.staging.allow.kindz",
    ):
        assert fragment in text, fragment


def test_unknown_promotion_target_is_refused() -> None:
    data = b"""
apiVersion: orchestrator.dev/v1alpha1
kind: PromotionPolicy
environments:
  staging: {promotion: {to: [prod]}}
"""
    with pytest.raises(PolicyError, match="unknown environment 'prod'"):
        parse_policy(data)


@pytest.mark.parametrize(
    "data",
    [b"", b"- a list\n", b"apiVersion: [unclosed\n", b"\xff\xfe"],
    ids=["empty", "list", "bad-yaml", "not-utf8"],
)
def test_unusable_files_never_become_a_permissive_policy(data: bytes) -> None:
    with pytest.raises(PolicyError):
        parse_policy(data)


def test_missing_environment_entry_is_an_error() -> None:
    policy = parse_policy((FIXTURES / "policy-full.yaml").read_bytes())
    with pytest.raises(PolicyError, match="no entry for environment 'dev'"):
        policy.environment("dev")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), ("90s", 90.0), ("5m", 300.0), ("1h30m", 5400.0), ("2h", 7200.0), (0.5, 0.5)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "-1", -3, True, "1d"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def _ref(kind: str, namespace: str = "app", group: str = "") -> ObjectRef:
    return ObjectRef(group=group, kind=kind, namespace=namespace, name="x")


def test_allow_refuses_cluster_scoped_unless_allowed() -> None:
    assert "cluster-scoped" in (
        Allow().refusal(_ref("ClusterRole", "", "rbac.authorization.k8s.io"), namespaced=False)
        or ""
    )
    assert Allow(clusterScoped=True).refusal(_ref("Namespace", ""), namespaced=False) is None


def test_allow_kinds_and_namespaces() -> None:
    allow = Allow(namespaces=["app", "app-*"], kinds=["ConfigMap", "apps/Deployment"])
    assert allow.refusal(_ref("ConfigMap"), namespaced=True) is None
    assert allow.refusal(_ref("Deployment", "app-eu", "apps"), namespaced=True) is None
    assert "kind Secret" in (allow.refusal(_ref("Secret"), namespaced=True) or "")
    assert "namespace kube-system" in (
        allow.refusal(_ref("ConfigMap", "kube-system"), namespaced=True) or ""
    )
    # A group-qualified allowance does not let a same-named kind of another group through.
    assert allow.refusal(_ref("Deployment", "app", "example.com"), namespaced=True) is not None


_BASE = "apiVersion: orchestrator.dev/v1alpha1\nkind: PromotionPolicy\nenvironments:\n"


@pytest.mark.parametrize(
    "section",
    [
        'path: ""',
        "path: .",
        "path: /",
        "path: ../elsewhere",
        "path: .orchestrator",
        'promotion: {to: [], paths: ["/"]}',
        'promotion: {to: [], paths: ["."]}',
        'promotion: {to: [], paths: [""]}',
        'promotion: {to: [], paths: ["manifests", "a/../.."]}',
        'promotion: {to: [], paths: [".orchestrator/params"]}',
    ],
)
def test_a_delivery_directory_must_be_below_the_root_and_not_the_policy(section: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(f"{_BASE}  staging:\n    {section}\n".encode())
    field = "promotion.paths" if "paths" in section else "path"
    assert f"environments.staging.{field}" in str(caught.value)


def test_delivery_directories_are_normalised() -> None:
    text = f"{_BASE}  staging:\n    path: apps/shop/\n    promotion: {{paths: [apps/shop/, b]}}\n"
    staging = parse_policy(text.encode()).environment("staging")
    assert staging.path == "apps/shop"
    assert staging.promoted_paths == ["apps/shop", "b"]
