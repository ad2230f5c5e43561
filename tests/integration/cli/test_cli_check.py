"""`orchestrator check` on a real API server: green as admin, RBAC gaps as a ServiceAccount."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from e2e.controlplane import Cluster
from orchestrator.cli import main
from tests.support.workrepo import WorkRepo

POLICY = """apiVersion: orchestrator.dev/v1alpha1
kind: PromotionPolicy
environments:
  staging: {}
"""


def _bus(root: Path, namespace: str, *, policy: str = POLICY) -> WorkRepo:
    (root / "bus").mkdir()
    bus = WorkRepo(root / "bus")
    manifest = (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: web, namespace: {namespace}}}\n"
        "data: {level: info}\n"
    )
    bus.commit(
        "staging",
        {".orchestrator/policy.yaml": policy, "manifests/app.yaml": manifest},
        message="x",
    )
    return bus


def _check(
    monkeypatch: pytest.MonkeyPatch, *, bus: WorkRepo, root: Path, namespace: str, kubeconfig: Path
) -> tuple[int, dict[str, dict[str, str]]]:
    for name, value in {
        "ORCHESTRATOR_GIT__URL": str(bus.bare),
        "ORCHESTRATOR_GIT__CACHE_DIR": str(root / "cache"),
        "ORCHESTRATOR_AGENT__ENVIRONMENT": "staging",
        "ORCHESTRATOR_CLUSTER__NAMESPACE": namespace,
    }.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["check", "--kubeconfig", str(kubeconfig), "-o", "json"])
    document = json.loads(result.stdout)
    assert document["ok"] is (result.exit_code == 0)
    return result.exit_code, {c["check"]: c for c in document["checks"]}


def _token_kubeconfig(cluster: Cluster, namespace: str, path: Path) -> Path:
    """A ServiceAccount that may read inventory Secrets and write Events, nothing more."""
    admin = cluster.admin()

    def post(api: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = admin.request("POST", api, body)
        assert resp.ok, resp.body
        return dict(resp.body)

    core = f"/api/v1/namespaces/{namespace}"
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    post(f"{core}/serviceaccounts", {"metadata": {"name": "agent"}})
    post(
        f"{rbac}/roles",
        {
            "metadata": {"name": "agent"},
            "rules": [
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]},
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
            ],
        },
    )
    post(
        f"{rbac}/rolebindings",
        {
            "metadata": {"name": "agent"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "agent"},
            "subjects": [{"kind": "ServiceAccount", "name": "agent", "namespace": namespace}],
        },
    )
    token = post(f"{core}/serviceaccounts/agent/token", {"spec": {"expirationSeconds": 3600}})
    ca = base64.b64encode(cluster.pki.ca_cert.read_bytes()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": cluster.server, "certificate-authority-data": ca}}
        ],
        "users": [{"name": "agent", "user": {"token": token["status"]["token"]}}],
        "contexts": [{"name": "agent", "context": {"cluster": "c", "user": "agent"}}],
        "current-context": "agent",
    }
    path.write_text(json.dumps(config))
    return path


def test_everything_an_agent_needs_is_green_for_an_admin(
    cluster: Cluster, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = _bus(tmp_path, namespace)
    code, checks = _check(
        monkeypatch, bus=bus, root=tmp_path, namespace=namespace, kubeconfig=cluster.kubeconfig
    )
    assert code == 0, checks
    assert {name: c["result"] for name, c in checks.items()} == {
        "cluster": "ok",
        "namespace": "ok",
        "rbac": "ok",
        "repository": "ok",
        "policy": "ok",
        "manifests": "ok",
        "apply-rbac": "ok",
    }
    assert cluster.server in checks["cluster"]["detail"]
    assert checks["manifests"]["detail"].startswith("1 object(s)")


def test_a_service_account_learns_every_missing_permission_at_once(
    cluster: Cluster, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = _bus(tmp_path, namespace)
    kubeconfig = _token_kubeconfig(cluster, namespace, tmp_path / "agent.kubeconfig")
    code, checks = _check(
        monkeypatch, bus=bus, root=tmp_path, namespace=namespace, kubeconfig=kubeconfig
    )
    assert code == 1
    assert checks["cluster"]["result"] == "ok"
    assert checks["namespace"]["result"] == "warn"  # may not read Namespaces: not fatal
    assert checks["rbac"]["result"] == "fail"
    rbac = checks["rbac"]["detail"]
    for missing in ("create", "patch", "delete"):
        assert f"{missing} secrets in {namespace}" in rbac
    assert "get secrets" not in rbac
    assert "events" not in rbac
    assert checks["apply-rbac"]["result"] == "fail"
    assert f"patch configmaps in {namespace}" in checks["apply-rbac"]["detail"]


def test_a_missing_namespace_branch_or_bad_policy_fails_with_the_reason(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_production = POLICY.replace("staging: {}", "production: {}")
    bus = _bus(tmp_path, "default", policy=only_production)
    code, checks = _check(
        monkeypatch, bus=bus, root=tmp_path, namespace="not-there", kubeconfig=cluster.kubeconfig
    )
    assert code == 1
    assert checks["namespace"]["result"] == "fail"
    assert "not-there does not exist" in checks["namespace"]["detail"]
    assert checks["policy"]["result"] == "fail"
    assert "staging" in checks["policy"]["detail"]
    assert checks["manifests"]["result"] == "skip"

    monkeypatch.setenv("ORCHESTRATOR_AGENT__ENVIRONMENT", "qa")
    result = CliRunner().invoke(main, ["check", "--kubeconfig", str(cluster.kubeconfig)])
    assert result.exit_code == 1
    assert "no branch refs/heads/qa" in result.stdout
