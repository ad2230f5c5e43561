"""A person who can push, but holds no trusted key, cannot take an environment over.

Real agents, a real bare repository and real clusters. Each test pushes what
such a person can push and checks that nothing of it is applied or promoted,
that the refusal is a Failed note naming what was wrong, and that the agent
goes on serving.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.controlplane import Cluster
from tests.integration.agent.test_pr_flow import Flow, _get

pytestmark = pytest.mark.slow


@pytest.fixture
def flow(clusters: dict[str, Cluster], tmp_path: Path) -> Iterator[Flow]:
    f = Flow(clusters=clusters, root=tmp_path)
    try:
        yield f
    finally:
        f.close()


def policy(**staging: Any) -> str:
    """Staging promotes to production; no verification runs, so each test is quick."""
    base: dict[str, Any] = {
        "promotion": {"to": ["production"], "mode": "pr"},
        "health": {"timeout": "60s"},
        "allow": {"clusterScoped": True},
    }
    return yaml.safe_dump(
        {
            "apiVersion": "orchestrator.dev/v1alpha1",
            "kind": "PromotionPolicy",
            "environments": {
                "staging": {**base, **staging},
                "production": {"health": {"timeout": "60s"}, "allow": {"clusterScoped": True}},
            },
        }
    )


def config(namespace: str, name: str, *extra: dict[str, Any]) -> str:
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
            "data": {"who": name},
        },
        *extra,
    ]
    return yaml.safe_dump_all(docs)


def configmap(flow: Flow, name: str) -> dict[str, Any] | None:
    return _get(flow.clusters["staging"], f"/api/v1/namespaces/{flow.app_ns}/configmaps/{name}")


def ssh_key(tmp_path: Path, name: str) -> tuple[Path, str]:
    key = tmp_path / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
    )
    kind, blob, *_ = (tmp_path / f"{name}.pub").read_text().split()
    return key, f"{kind} {blob}"


def test_an_unsigned_merge_that_drops_trust_is_refused_with_nothing_applied(
    flow: Flow, tmp_path: Path
) -> None:
    key, public = ssh_key(tmp_path, "release")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"release@example.com {public}\n")
    flow.agent("staging", ORCHESTRATOR_TRUST__ALLOWED_SIGNERS_FILE=str(allowed)).start()

    signed = flow.bus.commit(
        "staging",
        {
            ".orchestrator/policy.yaml": policy(trust={"signers": ["release@example.com"]}),
            "manifests/app.yaml": config(flow.app_ns, "good"),
        },
        message="Deliver good\n\nDelivery: good",
        ssh_signing_key=key,
    )
    flow.wait_phase("staging", signed, "Promoted")
    assert configmap(flow, "good") is not None

    # The intruder's merge: no trust section, and a ClusterRoleBinding to cluster-admin.
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"takeover-{flow.uid}"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "cluster-admin",
        },
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": flow.app_ns}],
    }
    flow.bus.commit(
        "pr/staging/evil",
        {
            ".orchestrator/policy.yaml": policy(),
            "manifests/app.yaml": config(flow.app_ns, "evil", binding),
        },
        message="Deliver evil\n\nDelivery: evil",
        base="staging",
    )
    merge = flow.bus.merge("pr/staging/evil", into="staging")

    failed = flow.wait_phase("staging", merge, "Failed")
    assert failed["stage"] == "SignatureFailed"
    assert "is not signed" in failed["message"]
    assert configmap(flow, "evil") is None
    binding_path = f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/takeover-{flow.uid}"
    assert _get(flow.clusters["staging"], binding_path) is None
    assert configmap(flow, "good") is not None  # the last trusted revision stays applied
    assert not flow.bus.has_remote_branch("pr/production/evil")


def test_a_policy_cannot_trust_a_signer_the_cluster_does_not(flow: Flow, tmp_path: Path) -> None:
    key, public = ssh_key(tmp_path, "intruder")
    _, trusted = ssh_key(tmp_path, "release")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"release@example.com {trusted}\n")
    flow.agent("staging", ORCHESTRATOR_TRUST__ALLOWED_SIGNERS_FILE=str(allowed)).start()
    # Signed by the intruder's key, naming that key in the policy it brings along.
    sha = flow.bus.commit(
        "staging",
        {
            ".orchestrator/policy.yaml": policy(
                trust={"signers": [f"intruder@example.com {public}"]}
            ),
            "manifests/app.yaml": config(flow.app_ns, "evil"),
        },
        message="Deliver evil\n\nDelivery: evil",
        ssh_signing_key=key,
    )
    failed = flow.wait_phase("staging", sha, "Failed")
    assert failed["stage"] == "SignatureFailed"
    assert "not in the allowed signers" in failed["message"]
    assert configmap(flow, "evil") is None


def test_promotion_paths_at_the_root_are_refused_and_the_target_policy_kept(
    flow: Flow,
) -> None:
    production_policy = flow.bus.show("production", ".orchestrator/policy.yaml")
    flow.agent("staging").start()
    sha = flow.bus.commit(
        "staging",
        {
            ".orchestrator/policy.yaml": policy(
                promotion={"to": ["production"], "mode": "auto", "paths": ["/"]}
            ),
            "manifests/app.yaml": config(flow.app_ns, "everything"),
        },
        message="Deliver everything\n\nDelivery: everything",
    )
    failed = flow.wait_phase("staging", sha, "Failed")
    assert failed["stage"] == "PolicyInvalid"
    assert "environments.staging.promotion.paths" in failed["message"]
    assert "'/' must be a relative directory" in failed["message"]
    assert configmap(flow, "everything") is None
    assert flow.bus.show("production", ".orchestrator/policy.yaml") == production_policy


def test_an_invalid_delivery_name_is_refused_before_anything_is_applied(flow: Flow) -> None:
    flow.agent("staging").start()
    sha = flow.bus.commit(
        "staging",
        {
            ".orchestrator/policy.yaml": policy(),
            "manifests/app.yaml": config(flow.app_ns, "named"),
        },
        message="Deliver\n\nDelivery: $(params.token)$",
    )
    failed = flow.wait_phase("staging", sha, "Failed")
    assert failed["stage"] == "ArtifactFailed"
    assert "Delivery trailer '$(params.token)$' is not a valid delivery name" in failed["message"]
    assert configmap(flow, "named") is None
    assert not flow.bus.has_remote_branch("pr/production/*")


def test_a_policy_asking_beyond_the_cluster_ceiling_is_refused(flow: Flow) -> None:
    flow.agent(
        "staging",
        ORCHESTRATOR_TRUST__CEILING__CLUSTER_SCOPED="false",
        ORCHESTRATOR_TRUST__CEILING__NAMESPACES=f'["{flow.app_ns}"]',
    ).start()
    sha = flow.bus.commit(
        "staging",
        {
            ".orchestrator/policy.yaml": policy(
                allow={"clusterScoped": True, "namespaces": ["kube-system"]}
            ),
            "manifests/app.yaml": config(flow.app_ns, "wide"),
        },
        message="Deliver wide\n\nDelivery: wide",
    )
    failed = flow.wait_phase("staging", sha, "Failed")
    assert failed["stage"] == "PolicyInvalid"
    assert "environments.staging.allow.clusterScoped" in failed["message"]
    assert (
        "environments.staging.allow.namespaces[0]: 'kube-system' is outside" in (failed["message"])
    )
    assert configmap(flow, "wide") is None
