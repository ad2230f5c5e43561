"""The RBAC in deploy/ is real: the agent's ServiceAccount can do its job and nothing else.

The staging overlay's RBAC (Namespace, ServiceAccount, Roles, ClusterRoles, bindings) is
applied for real to a harness cluster, through a small wrapping kustomization that
moves it to a fresh namespace and suffixes the cluster-scoped names, so that tests
never collide. The ServiceAccount's token (`kubectl create token`) then drives:

- the agent's own building blocks (Lease, inventory, apply, verification runs), which
  must succeed;
- objects outside its grant, which the API server must refuse with 403;
- the agent itself (`orchestrator agent`), whose git note on a delivery with a kind
  outside the ClusterRole must say clearly what was refused.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.controlplane import Cluster
from orchestrator.errors import Forbidden
from orchestrator.kube.client import KubeClient
from orchestrator.kube.inventory import (
    Inventory,
    InventoryEntry,
    InventoryStore,
    inventory_name,
)
from orchestrator.kube.lease import LeaseLock
from orchestrator.objectref import ObjectRef
from tests.integration.deploy.conftest import DEPLOY, Kubectl, dump, named
from tests.support.workrepo import WorkRepo

pytestmark = pytest.mark.controlplane

ENVIRONMENT = "staging"
RBAC_KINDS = {
    "Namespace",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
}
FIELD_MANAGER = f"orchestrator-{ENVIRONMENT}"
AGENT = Path(sys.executable).with_name("orchestrator")
CLUSTER_ROLES = "/apis/rbac.authorization.k8s.io/v1/clusterroles"


@dataclass
class Installed:
    """The staging overlay's RBAC, installed under a unique namespace and name suffix."""

    cluster: Cluster
    namespace: str
    service_account: str
    suffix: str
    kubeconfig: Path
    app_namespace: str

    def client(self) -> KubeClient:
        return KubeClient.from_kubeconfig(self.kubeconfig)


def wait_until(what: str, check: Callable[[], Any], *, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.1)
    return value


def token_kubeconfig(cluster: Cluster, token: str, path: Path) -> Path:
    """A kubeconfig that authenticates with a ServiceAccount token, as a pod would."""
    ca = base64.b64encode(cluster.pki.ca_cert.read_bytes()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": cluster.server, "certificate-authority-data": ca}}
        ],
        "users": [{"name": "agent", "user": {"token": token}}],
        "contexts": [{"name": "agent", "context": {"cluster": "c", "user": "agent"}}],
        "current-context": "agent",
    }
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def installed(cluster: Cluster, kubectl: Kubectl, tmp_path: Path) -> Iterator[Installed]:
    suffix = uuid.uuid4().hex[:8]
    namespace = f"orch-{suffix}"
    wrapper = tmp_path / "install"
    wrapper.mkdir()
    overlay = os.path.relpath(DEPLOY / "overlays" / ENVIRONMENT, wrapper)
    (wrapper / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "namespace": namespace,
                "nameSuffix": f"-{suffix}",
                "resources": [overlay],
            }
        )
    )
    rbac = [o for o in kubectl.kustomize(wrapper) if o["kind"] in RBAC_KINDS]
    assert {o["kind"] for o in rbac} == RBAC_KINDS
    (service_account,) = named(rbac, "ServiceAccount")
    admin = cluster.admin()
    try:
        kubectl.run("apply", "--server-side", "-f", "-", cluster=cluster, stdin=dump(rbac))
        # The aggregated ClusterRole's rules are filled in by the controller manager.
        wait_until(
            "orchestrator-apply aggregates the starter rules",
            lambda: admin.request("GET", f"{CLUSTER_ROLES}/orchestrator-apply-{suffix}").body.get(
                "rules"
            ),
            timeout=30,
        )
        token = kubectl.run(
            "create", "token", service_account, "-n", namespace, "--duration=1h", cluster=cluster
        ).stdout.strip()
        yield Installed(
            cluster=cluster,
            namespace=namespace,
            service_account=service_account,
            suffix=suffix,
            kubeconfig=token_kubeconfig(cluster, token, tmp_path / "agent.kubeconfig"),
            app_namespace=f"app-{suffix}",
        )
    finally:
        kubectl.run(
            "delete", "--ignore-not-found", "--wait=false", "-f", "-",
            cluster=cluster, stdin=dump(rbac), check=False,
        )  # fmt: skip
        admin.request("DELETE", f"/api/v1/namespaces/app-{suffix}")


# --- what the agent does: allowed ----------------------------------------------------


def test_the_service_account_can_hold_its_lease_and_write_its_inventory(
    installed: Installed,
) -> None:
    client = installed.client()
    try:
        lock = LeaseLock.in_cluster(
            client, name=f"orchestrator-{ENVIRONMENT}", namespace=installed.namespace
        )
        now = datetime.now(UTC)
        held = lock.try_acquire(identity="pod-a", duration_seconds=15, now=now)
        assert held.held_by("pod-a")
        held = lock.renew(held, now=datetime.now(UTC))
        assert lock.release(held, now=datetime.now(UTC)).holder == ""

        # Small shards, so that the head and several shard Secrets are all exercised.
        store = InventoryStore(
            client,
            namespace=installed.namespace,
            name=inventory_name(ENVIRONMENT),
            max_shard_bytes=400,
        )
        entries = tuple(
            InventoryEntry(
                ref=ObjectRef(group="", kind="ConfigMap", namespace="app", name=f"cm-{i}"),
                api_version="v1",
                digest=f"sha256:{i:064d}",
            )
            for i in range(12)
        )
        big = Inventory(revision="a" * 40, field_manager=FIELD_MANAGER, entries=entries)
        assert store.write(big)
        assert store.read() == big
        small = Inventory(revision="b" * 40, field_manager=FIELD_MANAGER, entries=entries[:1])
        assert store.write(small)  # deletes the shards the head no longer names
        assert store.read() == small
        store.delete()
        assert store.read() == Inventory()
    finally:
        client.close()


def test_the_service_account_can_apply_prune_and_run_verification_in_app_namespaces(
    installed: Installed,
) -> None:
    client = installed.client()
    app = installed.app_namespace
    labels = {"orchestrator.dev/environment": ENVIRONMENT}
    try:
        for obj in (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": app}},
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": app},
                "data": {"greeting": "hello"},
            },
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": app},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "web", "image": "example/web:1"}]},
                    },
                },
            },
        ):
            client.apply(obj, field_manager=FIELD_MANAGER, dry_run=True)
            applied = client.apply(obj, field_manager=FIELD_MANAGER)
            assert applied["metadata"]["uid"]
        assert client.get(api_version="apps/v1", kind="Deployment", name="web", namespace=app)

        # A verification run: created (never updated), found by label, deleted.
        run = client.create(
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"generateName": "smoke-", "namespace": app, "labels": labels},
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "smoke", "image": "example/smoke:1"}],
                        }
                    }
                },
            },
            field_manager=FIELD_MANAGER,
        )
        found = client.list(
            api_version="batch/v1",
            kind="Job",
            namespace=app,
            label_selector="orchestrator.dev/environment=staging",
        )
        assert [j["metadata"]["name"] for j in found] == [run["metadata"]["name"]]

        # Pruning deletes what left the delivery.
        job = run["metadata"]["name"]
        client.delete(api_version="batch/v1", kind="Job", name=job, namespace=app)
        client.delete(api_version="v1", kind="ConfigMap", name="settings", namespace=app)
        gone = client.get(api_version="v1", kind="ConfigMap", name="settings", namespace=app)
        assert gone is None
    finally:
        client.close()


# --- what it may not do: refused -----------------------------------------------------


def refused_objects(installed: Installed) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"escalate-{installed.suffix}"},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"disk-{installed.suffix}"},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "hostPath": {"path": "/tmp/disk"},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db-credentials", "namespace": "default"},
            "stringData": {"password": "not-for-the-agent"},
        },
    ]


def test_kinds_outside_the_cluster_role_are_refused_with_403(installed: Installed) -> None:
    client = installed.client()
    user = f"system:serviceaccount:{installed.namespace}:{installed.service_account}"
    try:
        for obj in refused_objects(installed):
            with pytest.raises(Forbidden) as refused:
                client.apply(obj, field_manager=FIELD_MANAGER)
            assert refused.value.ref == ObjectRef.of(obj)
            text = str(refused.value)
            assert text.startswith(f"{ObjectRef.of(obj)}: apply: "), text
            assert "forbidden" in text, text
            assert user in text, text

        # Its own namespace holds only its own Lease: another one cannot even be read.
        other = LeaseLock.in_cluster(client, name="someone-else", namespace=installed.namespace)
        with pytest.raises(Forbidden):
            other.read()
    finally:
        client.close()


# --- the agent itself ----------------------------------------------------------------

POLICY = {
    "apiVersion": "orchestrator.dev/v1alpha1",
    "kind": "PromotionPolicy",
    "environments": {
        ENVIRONMENT: {
            "path": "manifests",
            "promotion": {"to": []},
            "health": {"timeout": "30s"},
            "allow": {"clusterScoped": True},
        }
    },
}


def delivery(app: str) -> str:
    return dump(
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": app}},
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": app},
                "data": {"greeting": "hello"},
            },
            # Not in the starter ClusterRole: the API server refuses it.
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "db-credentials", "namespace": app},
                "stringData": {"password": "s3cr3t"},
            },
        ]
    )


def read_note(bare: Path, commit: str) -> dict[str, Any] | None:
    result = subprocess.run(
        ["git", "notes", f"--ref=refs/notes/orchestrator/{ENVIRONMENT}", "show", commit],
        cwd=bare,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return None
    note: dict[str, Any] = json.loads(result.stdout)
    return note


def test_the_agent_reports_a_refused_kind_in_its_note(installed: Installed, tmp_path: Path) -> None:
    (tmp_path / "git").mkdir()
    work = WorkRepo(tmp_path / "git")
    app = installed.app_namespace
    commit = work.commit(
        ENVIRONMENT,
        {
            ".orchestrator/policy.yaml": yaml.safe_dump(POLICY),
            "manifests/app.yaml": delivery(app),
        },
        message="Deliver feature-a\n\nDelivery: feature-a",
    )
    env = {
        **os.environ,
        "POD_NAME": f"orchestrator-{installed.suffix}",
        "ORCHESTRATOR_GIT__URL": str(work.bare),
        "ORCHESTRATOR_GIT__CACHE_DIR": str(tmp_path / "cache"),
        "ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS": "1",
        "ORCHESTRATOR_AGENT__ENVIRONMENT": ENVIRONMENT,
        "ORCHESTRATOR_CLUSTER__KUBECONFIG": str(installed.kubeconfig),
        "ORCHESTRATOR_CLUSTER__NAMESPACE": installed.namespace,
        "ORCHESTRATOR_LEADER__ENABLED": "true",
        "ORCHESTRATOR_SERVER__PORT": "0",
        "ORCHESTRATOR_TRUST__CEILING__CLUSTER_SCOPED": "true",
    }
    log_path = tmp_path / "agent.log"
    with log_path.open("wb") as log:
        agent = subprocess.Popen([str(AGENT), "agent"], env=env, stdout=log, stderr=log)
        try:

            def failed_note() -> dict[str, Any] | None:
                if agent.poll() is not None:
                    raise AssertionError(
                        f"the agent exited with {agent.returncode}:\n{log_path.read_text()}"
                    )
                note = read_note(work.bare, commit)
                entries = (note or {}).get("entries") or []
                return next((e for e in entries if e.get("phase") == "Failed"), None)

            try:
                entry = wait_until("a Failed note on the delivered commit", failed_note, timeout=90)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\nagent log:\n{log_path.read_text()}") from None
        finally:
            agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(timeout=40)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
    assert agent.returncode == 0, log_path.read_text()

    assert entry["stage"] == "ApplyFailed", entry
    message = entry["message"]
    assert f"Secret/{app}/db-credentials" in message, message
    assert "forbidden" in message.lower(), message
    assert "s3cr3t" not in json.dumps(entry)
    # The agent created and held its own Lease under the overlay's narrowed grant.
    client = installed.client()
    try:
        lease = client.get(
            api_version="coordination.k8s.io/v1",
            kind="Lease",
            name=f"orchestrator-{ENVIRONMENT}",
            namespace=installed.namespace,
        )
    finally:
        client.close()
    assert lease is not None
    assert lease["spec"].get("acquireTime"), lease
