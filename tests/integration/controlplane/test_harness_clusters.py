"""The harness gives real, isolated clusters: these tests would fail against a fake."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from e2e.controlplane import Cluster, ensure_binaries
from e2e.controlplane.binaries import KUBERNETES_VERSION
from e2e.controlplane.http import ApiClient

from .listening import listening_addresses


def kubectl(
    cluster: Cluster, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    binary = ensure_binaries().kubectl
    return subprocess.run(
        [str(binary), f"--kubeconfig={cluster.kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def wait_for(what: str, check: Any, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout}s; last: {last!r}")


def test_server_side_apply_in_one_cluster_is_absent_from_another(
    clusters: dict[str, Cluster],
) -> None:
    name = f"only-in-staging-{uuid.uuid4().hex[:6]}"
    manifest = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"},
            "data": {"where": "staging"},
        }
    )
    applied = kubectl(
        clusters["staging"],
        "apply",
        "--server-side",
        "--field-manager=test",
        "-f",
        "-",
        stdin=manifest,
    )
    assert applied.returncode == 0, applied.stderr

    in_staging = (
        clusters["staging"].admin().request("GET", f"/api/v1/namespaces/default/configmaps/{name}")
    )
    assert in_staging.status == 200
    managers = [m["manager"] for m in in_staging.body["metadata"]["managedFields"]]
    assert managers == ["test"]
    assert in_staging.body["metadata"]["managedFields"][0]["operation"] == "Apply"

    for other in ("production", "build"):
        resp = (
            clusters[other].admin().request("GET", f"/api/v1/namespaces/default/configmaps/{name}")
        )
        assert resp.status == 404, f"{name} leaked into {other}"


def test_unauthenticated_and_foreign_credentials_are_refused(clusters: dict[str, Cluster]) -> None:
    staging, production = clusters["staging"], clusters["production"]

    anonymous = staging.anonymous().request("GET", "/api/v1/namespaces/kube-system/secrets")
    assert anonymous.status in (401, 403)

    # An admin certificate of another cluster is signed by a CA this one does not trust.
    foreign = ApiClient(
        port=staging.apiserver_port,
        ca_cert=staging.pki.ca_cert,
        client_cert=production.pki.admin_cert,
        client_key=production.pki.admin_key,
    ).request("GET", "/api/v1/namespaces")
    assert foreign.status == 401

    bad_token = ApiClient(
        port=staging.apiserver_port, ca_cert=staging.pki.ca_cert, token="not-a-token"
    )
    assert bad_token.request("GET", "/api/v1/namespaces").status == 401


def test_rbac_is_enforced_for_a_service_account(cluster: Cluster, namespace: str) -> None:
    """A token for a ServiceAccount without bindings can authenticate but not read."""
    created = kubectl(cluster, "-n", namespace, "create", "serviceaccount", "nobody")
    assert created.returncode == 0, created.stderr
    token = kubectl(cluster, "-n", namespace, "create", "token", "nobody")
    assert token.returncode == 0, token.stderr
    client = ApiClient(
        port=cluster.apiserver_port, ca_cert=cluster.pki.ca_cert, token=token.stdout.strip()
    )
    denied = client.request("GET", f"/api/v1/namespaces/{namespace}/configmaps")
    assert denied.status == 403
    assert f"system:serviceaccount:{namespace}:nobody" in denied.body["message"]


def test_deployment_becomes_available_on_simulated_nodes(cluster: Cluster, namespace: str) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }
    applied = kubectl(cluster, "apply", "--server-side", "-f", "-", stdin=json.dumps(deployment))
    assert applied.returncode == 0, applied.stderr
    admin = cluster.admin()

    def available() -> dict[str, Any] | None:
        status = admin.request(
            "GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/web"
        ).body.get("status", {})
        conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
        return (
            status
            if conditions.get("Available") == "True" and status.get("readyReplicas") == 2
            else None
        )

    status = wait_for("Deployment web Available with 2 ready replicas", available)
    assert status["availableReplicas"] == 2
    pods = admin.request("GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector=app%3Dweb").body
    assert len(pods["items"]) == 2
    assert {p["spec"]["nodeName"] for p in pods["items"]} == {"kwok-node-0"}
    assert all(p["status"]["phase"] == "Running" for p in pods["items"])


def test_job_completes(cluster: Cluster, namespace: str) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once", "namespace": namespace},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "once", "image": "busybox", "command": ["true"]}],
                }
            },
        },
    }
    applied = kubectl(cluster, "apply", "--server-side", "-f", "-", stdin=json.dumps(job))
    assert applied.returncode == 0, applied.stderr
    admin = cluster.admin()

    def complete() -> dict[str, Any] | None:
        status = admin.request("GET", f"/apis/batch/v1/namespaces/{namespace}/jobs/once").body.get(
            "status", {}
        )
        conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
        return status if conditions.get("Complete") == "True" else None

    status = wait_for("Job once Complete", complete)
    assert status["succeeded"] == 1


def test_clusters_run_the_pinned_release_and_bind_only_loopback(
    clusters: dict[str, Cluster],
) -> None:
    for name, cluster in clusters.items():
        assert cluster.kubeconfig == cluster.directory.parent / f"{name}.kubeconfig"
        version = kubectl(cluster, "version", "-o", "json")
        assert version.returncode == 0, version.stderr
        info = json.loads(version.stdout)
        assert info["serverVersion"]["gitVersion"] == KUBERNETES_VERSION
        assert info["clientVersion"]["gitVersion"] == KUBERNETES_VERSION

        pids = [p.pid for p in cluster.processes.values()]
        assert len(pids) == 5
        addresses = listening_addresses(pids)
        assert addresses, "expected at least the apiserver and etcd to listen"
        assert {host for host, _ in addresses} == {"127.0.0.1"}, addresses
        assert ("127.0.0.1", cluster.apiserver_port) in addresses


def test_warm_start_builds_nothing(cluster: Cluster) -> None:
    messages: list[str] = []
    binaries = ensure_binaries(progress=messages.append)
    assert messages == []
    assert all(Path(p).exists() for p in vars(binaries).values())
