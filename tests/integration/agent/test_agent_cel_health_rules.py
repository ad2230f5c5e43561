"""An agent whose delivery's health is decided by a CEL rule in the policy.

One cluster, one bare repository, the agent as a real process. The delivery
ships a CRD and a Widget; nothing but the test writes the Widget's status, as
its operator would. The agent must not call the revision Healthy until the
policy's CEL rule says so, and must refuse a policy whose CEL expression does
not compile, naming the rule, before it applies anything.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.controlplane import Cluster
from tests.support.agents import AgentProcess, eventually
from tests.support.workrepo import WorkRepo, git

pytestmark = pytest.mark.slow

ENV = "staging"
CURRENT = "status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'True')"
FAILED = "status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'False')"


class Setup:
    def __init__(self, cluster: Cluster, root: Path) -> None:
        self.cluster = cluster
        self.root = root
        self.uid = uuid.uuid4().hex[:8]
        self.group = f"cel-{self.uid}.example.com"
        self.app_ns = f"app-{self.uid}"
        self.agent_ns = f"agents-{self.uid}"
        self.bus = WorkRepo(root)
        resp = cluster.admin().request(
            "POST",
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.agent_ns}},
        )
        assert resp.ok, resp.body
        self.agent = AgentProcess(
            name=f"{ENV}-{self.uid}",
            log_dir=root,
            settings={
                "ORCHESTRATOR_GIT__URL": str(self.bus.bare),
                "ORCHESTRATOR_GIT__CACHE_DIR": str(root / "cache"),
                "ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS": "1",
                "ORCHESTRATOR_GIT__AUTHOR_EMAIL": f"{ENV}@agents.test",
                "ORCHESTRATOR_AGENT__ENVIRONMENT": ENV,
                "ORCHESTRATOR_AGENT__IDENTITY": f"{ENV}-agent",
                "ORCHESTRATOR_CLUSTER__KUBECONFIG": str(cluster.kubeconfig),
                "ORCHESTRATOR_CLUSTER__NAMESPACE": self.agent_ns,
                "ORCHESTRATOR_SERVER__PORT": "0",
            },
        )

    def policy(self, *, failed: str = FAILED) -> str:
        rule = {
            "apiVersion": f"{self.group}/v1",
            "kind": "Widget",
            "failed": failed,
            "current": CURRENT,
        }
        env = {
            "promotion": {"to": []},
            "health": {"timeout": "90s", "rules": [rule]},
            "allow": {"clusterScoped": True},
        }
        return yaml.safe_dump(
            {
                "apiVersion": "orchestrator.dev/v1alpha1",
                "kind": "PromotionPolicy",
                "environments": {ENV: env},
            }
        )

    def manifests(self) -> str:
        open_object = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        version = {
            "name": "v1",
            "served": True,
            "storage": True,
            "subresources": {"status": {}},
            "schema": {
                "openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": open_object, "status": open_object},
                }
            },
        }
        crd = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"widgets.{self.group}"},
            "spec": {
                "group": self.group,
                "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [version],
            },
        }
        widget = {
            "apiVersion": f"{self.group}/v1",
            "kind": "Widget",
            "metadata": {"name": "gear", "namespace": self.app_ns},
            "spec": {"size": 3},
        }
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.app_ns}}
        return yaml.safe_dump_all([namespace, crd, widget])

    def widget_path(self) -> str:
        return f"/apis/{self.group}/v1/namespaces/{self.app_ns}/widgets/gear"

    def entries(self, sha: str) -> list[dict[str, Any]]:
        """The note entries the agent wrote for a commit, oldest first."""
        ref = f"--ref=refs/notes/orchestrator/{ENV}"
        try:
            text = git("notes", ref, "show", sha, cwd=self.bus.bare)
        except AssertionError:
            return []
        found: list[dict[str, Any]] = json.loads(text)["entries"]
        return found

    def entry(self, sha: str, phase: str) -> dict[str, Any] | None:
        found = [e for e in self.entries(sha) if e["phase"] == phase]
        return found[-1] if found else None

    def wait_entry(self, sha: str, phase: str) -> dict[str, Any]:
        return eventually(
            f"note {phase} on {sha[:12]}",
            lambda: self.entry(sha, phase),
            timeout=120,
            logs=self.agent.log,
        )

    def close(self) -> None:
        self.agent.stop()
        admin = self.cluster.admin()
        admin.request(
            "DELETE",
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.{self.group}",
        )
        for ns in (self.app_ns, self.agent_ns):
            admin.request("DELETE", f"/api/v1/namespaces/{ns}")


@pytest.fixture
def setup(cluster: Cluster, tmp_path: Path) -> Iterator[Setup]:
    s = Setup(cluster, tmp_path)
    try:
        yield s
    finally:
        s.close()


def test_the_agent_waits_for_the_cel_rule_and_refuses_a_broken_one(setup: Setup) -> None:
    delivery = setup.bus.commit(
        ENV,
        {".orchestrator/policy.yaml": setup.policy(), "manifests/widget.yaml": setup.manifests()},
        message="Deliver a widget whose health a CEL rule decides",
    )
    setup.agent.start()
    admin = setup.cluster.admin()
    eventually(
        "the widget applied",
        lambda: admin.request("GET", setup.widget_path()).ok,
        timeout=120,
        logs=setup.agent.log,
    )
    # Without a status the rule cannot say Healthy; the agent must keep waiting.
    time.sleep(5)
    assert setup.entries(delivery) == [], setup.agent.log()[-3000:]

    ready = {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Done"}]}}
    resp = admin.request(
        "PATCH", f"{setup.widget_path()}/status", ready, content_type="application/merge-patch+json"
    )
    assert resp.ok, resp.body
    healthy = setup.wait_entry(delivery, "Healthy")
    assert healthy["health"].startswith("Healthy ("), healthy

    broken = setup.bus.commit(
        ENV,
        {".orchestrator/policy.yaml": setup.policy(failed=FAILED.rstrip(")"))},
        message="A CEL rule that lost a parenthesis",
    )
    failed = setup.wait_entry(broken, "Failed")
    assert failed["stage"] == "PolicyInvalid"
    assert (
        f"health rule for {setup.group}/Widget: failed: invalid CEL expression"
        in (failed["message"])
    )
    assert setup.agent.running
