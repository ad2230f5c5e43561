"""Every object rendered from deploy/ is accepted by a real API server (server-side dry run).

Each overlay is rendered with `kubectl kustomize` and dry-run against its own harness
cluster (build, staging, production). A namespaced dry run needs its namespace to
exist, so the overlay's Namespace is created for real first, and removed again after.
The agent namespace enforces the "restricted" Pod Security Standard and warns on
workloads that would break it: the dry run must pass without any warning.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.controlplane import Cluster
from orchestrator.settings import load_settings
from tests.integration.deploy.conftest import DEPLOY, OVERLAYS, Kubectl, dump, named

pytestmark = pytest.mark.controlplane

AGENT_NAMESPACE = "orchestrator-system"


def wait_gone(cluster: Cluster, path: str, *, timeout: float = 60) -> None:
    admin = cluster.admin()
    deadline = time.monotonic() + timeout
    while admin.request("GET", path).status != 404:
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} still exists after {timeout}s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def agent_namespaces(clusters: dict[str, Cluster]) -> Iterator[set[str]]:
    """Clusters whose agent namespace a test created; removed (all at once) at the end.

    Nothing is left behind, since other tests may install an agent there.
    """
    created: set[str] = set()
    yield created
    for name in created:
        clusters[name].admin().request("DELETE", f"/api/v1/namespaces/{AGENT_NAMESPACE}")
    for name in created:
        wait_gone(clusters[name], f"/api/v1/namespaces/{AGENT_NAMESPACE}")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_passes_a_server_side_dry_run(
    overlay: str, clusters: dict[str, Cluster], kubectl: Kubectl, agent_namespaces: set[str]
) -> None:
    cluster = clusters[overlay]
    objects = kubectl.kustomize(DEPLOY / "overlays" / overlay)
    namespaces = named(objects, "Namespace")
    assert list(namespaces) == [AGENT_NAMESPACE]
    if not cluster.admin().request("GET", f"/api/v1/namespaces/{AGENT_NAMESPACE}").ok:
        agent_namespaces.add(overlay)
    kubectl.run(
        "apply", "--server-side", "-f", "-", cluster=cluster, stdin=dump(list(namespaces.values()))
    )

    dry_run = ("apply", "--server-side", "--dry-run=server", "-f", "-")
    result = kubectl.run(*dry_run, cluster=cluster, stdin=dump(objects))

    lines = result.stdout.splitlines()
    assert len(lines) == len(objects), result.stdout
    assert all(line.endswith("serverside-applied (server dry run)") for line in lines), lines
    assert "Warning" not in result.stderr, result.stderr  # e.g. "would violate PodSecurity"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_sets_its_environment_and_role(overlay: str, kubectl: Kubectl) -> None:
    objects = kubectl.kustomize(DEPLOY / "overlays" / overlay)
    (env,) = [o for o in objects if o["metadata"]["name"].startswith("orchestrator-env-")]
    expected = {
        "ORCHESTRATOR_AGENT__ENVIRONMENT": overlay,
        "ORCHESTRATOR_AGENT__ROLE": "build" if overlay == "build" else "deliver",
    }
    if overlay == "build":
        expected["ORCHESTRATOR_AGENT__PUBLISH_TO"] = "staging"
    assert env["data"] == expected

    leader = named(objects, "Role")["orchestrator-leader"]
    assert leader["rules"][1]["resourceNames"] == [f"orchestrator-{overlay}"]

    deployment = named(objects, "Deployment")["orchestrator"]
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert deployment["spec"]["replicas"] == 2
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in (
        container["env"]
    )
    assert container["envFrom"] == [{"configMapRef": {"name": env["metadata"]["name"]}}]

    # Least privilege: a build agent applies nothing; a deliver agent needs no ConfigMaps
    # of its own namespace.
    roles = set(named(objects, "Role"))
    cluster_roles = set(named(objects, "ClusterRole"))
    if overlay == "build":
        assert roles == {"orchestrator-leader", "orchestrator-events", "orchestrator-publish"}
        assert cluster_roles == set()
    else:
        assert roles == {"orchestrator-leader", "orchestrator-events", "orchestrator-inventory"}
        assert cluster_roles == {"orchestrator-apply", "orchestrator-apply-starter"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_settings_the_pod_gets_are_valid_agent_settings(
    overlay: str, kubectl: Kubectl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mounted config.yaml plus the env ConfigMap, read as the agent reads them."""
    objects = kubectl.kustomize(DEPLOY / "overlays" / overlay)
    config_maps = named(objects, "ConfigMap")
    (settings,) = [v for k, v in config_maps.items() if k.startswith("orchestrator-settings-")]
    (env,) = [v for k, v in config_maps.items() if k.startswith("orchestrator-env-")]
    deployment = named(objects, "Deployment")["orchestrator"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    config_path = {e["name"]: e.get("value") for e in container["env"]}["ORCHESTRATOR_CONFIG"]
    assert config_path == f"{mounts['config']}/config.yaml"

    # The credentials Secret's files, where the pod would have them.
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    for key in ("ssh-privatekey", "known_hosts"):
        (credentials / key).write_text("placeholder\n")
    text = settings["data"]["config.yaml"].replace(mounts["credentials"], str(credentials))
    config_file = tmp_path / "config.yaml"
    config_file.write_text(text)
    for name in [n for n in os.environ if n.startswith("ORCHESTRATOR_")]:
        monkeypatch.delenv(name)
    for name, value in env["data"].items():
        monkeypatch.setenv(name, value)

    loaded = load_settings(config_file=config_file)

    assert loaded.agent.environment == overlay
    assert loaded.agent.role == ("build" if overlay == "build" else "deliver")
    assert loaded.leader.enabled
    assert loaded.lease_name() == f"orchestrator-{overlay}"
    assert loaded.cluster.namespace == deployment["metadata"]["namespace"]
    assert loaded.cluster.kubeconfig is None  # in-cluster: the pod's ServiceAccount
    assert loaded.server.bind_address == "0.0.0.0"
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "http")
    assert loaded.server.port == port
    assert str(loaded.git.cache_dir).startswith(mounts["git-cache"])
    assert loaded.git.ssh_key_file == credentials / "ssh-privatekey"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_disruptions_traffic_and_slow_starts_are_bounded(overlay: str, kubectl: Kubectl) -> None:
    """A drain keeps one agent up; only the HTTP ports are open; a slow first clone is no crash."""
    objects = kubectl.kustomize(DEPLOY / "overlays" / overlay)
    deployment = named(objects, "Deployment")["orchestrator"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]

    budget = named(objects, "PodDisruptionBudget")["orchestrator"]
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()

    policy = named(objects, "NetworkPolicy")["orchestrator"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    (ingress,) = policy["spec"]["ingress"]
    assert ingress["ports"] == [
        {"port": "http", "protocol": "TCP"},
        {"port": "webhook", "protocol": "TCP"},
    ]
    assert [p["name"] for p in container["ports"]] == ["http", "webhook"]
    service = named(objects, "Service")["orchestrator"]
    assert {p["name"]: p["targetPort"] for p in service["spec"]["ports"]} == {
        "http": "http",
        "webhook": "webhook",
    }
    egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert egress_ports == {53, 443, 6443, 22, 9418}

    startup = container["startupProbe"]
    assert startup["httpGet"] == container["livenessProbe"]["httpGet"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120
