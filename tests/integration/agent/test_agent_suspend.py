"""Suspend and resume through Git, with two replicas of one agent as real processes.

A suspension arrives while the leader soaks a delivery: it neither records nor promotes
it, and a newer merge is not applied. The leader stops; the standby takes over and
holds too, since the suspension is in Git, not in a process. Resume releases them.
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
from click.testing import CliRunner

from e2e.controlplane import Cluster
from orchestrator.cli import main
from tests.support.agents import AgentProcess, eventually
from tests.support.workrepo import WorkRepo, git

pytestmark = pytest.mark.slow

SOAK = 8.0


def _policy() -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "orchestrator.dev/v1alpha1",
            "kind": "PromotionPolicy",
            "environments": {
                "staging": {
                    "promotion": {"to": ["production"], "mode": "pr"},
                    "health": {"soak": f"{SOAK:g}s"},
                },
                "production": {},
            },
        }
    )


def _config_map(namespace: str, level: str) -> str:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {namespace}}}\n"
        f"data: {{level: '{level}'}}\n"
    )


class Replicas:
    def __init__(self, *, cluster: Cluster, namespace: str, root: Path) -> None:
        self.cluster = cluster
        self.namespace = namespace
        (root / "bus").mkdir()
        self.bus = WorkRepo(root / "bus")
        for env in ("production", "staging"):
            self.bus.commit(env, {".orchestrator/policy.yaml": _policy()}, message=f"Set up {env}")
        self.lease = f"orchestrator-staging-{uuid.uuid4().hex[:6]}"
        self.agents = {
            name: AgentProcess(
                name=f"staging-{name}",
                settings={
                    "ORCHESTRATOR_GIT__URL": str(self.bus.bare),
                    "ORCHESTRATOR_GIT__CACHE_DIR": str(root / "cache" / name),
                    "ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS": "1",
                    "ORCHESTRATOR_AGENT__ENVIRONMENT": "staging",
                    "ORCHESTRATOR_AGENT__IDENTITY": f"staging-{name}",
                    "ORCHESTRATOR_CLUSTER__KUBECONFIG": str(cluster.kubeconfig),
                    "ORCHESTRATOR_CLUSTER__NAMESPACE": namespace,
                    "ORCHESTRATOR_SERVER__ENABLED": "false",
                    "ORCHESTRATOR_LEADER__ENABLED": "true",
                    "ORCHESTRATOR_LEADER__LEASE_NAME": self.lease,
                    "ORCHESTRATOR_LEADER__IDENTITY": name,
                    "ORCHESTRATOR_LEADER__LEASE_DURATION_SECONDS": "4",
                    "ORCHESTRATOR_LEADER__RENEW_DEADLINE_SECONDS": "2.5",
                    "ORCHESTRATOR_LEADER__RENEW_INTERVAL_SECONDS": "0.8",
                    "ORCHESTRATOR_LEADER__RETRY_PERIOD_SECONDS": "0.3",
                },
                log_dir=root,
            )
            for name in ("replica-a", "replica-b")
        }

    def logs(self) -> str:
        return "\n".join(f"=== {a.name}\n{a.log()[-3000:]}" for a in self.agents.values())

    def holder(self) -> str | None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases/{self.lease}"
        resp = self.cluster.admin().request("GET", path)
        return resp.body.get("spec", {}).get("holderIdentity") if resp.status == 200 else None

    def level(self) -> str | None:
        path = f"/api/v1/namespaces/{self.namespace}/configmaps/settings"
        resp = self.cluster.admin().request("GET", path)
        return resp.body["data"]["level"] if resp.status == 200 else None

    def phases(self, sha: str) -> list[str]:
        try:
            text = git("notes", "--ref=orchestrator/staging", "show", sha, cwd=self.bus.bare)
        except AssertionError:
            return []
        return [e["phase"] for e in json.loads(text)["entries"]]

    def cli(self, *args: str) -> dict[str, Any]:
        result = CliRunner().invoke(main, [*args, "--repo", str(self.bus.bare), "-o", "json"])
        assert result.exit_code == 0, result.output
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed


@pytest.fixture
def replicas(
    cluster: Cluster, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Replicas]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    group = Replicas(cluster=cluster, namespace=namespace, root=tmp_path)
    for agent in group.agents.values():
        agent.start()
    try:
        yield group
    finally:
        for agent in group.agents.values():
            agent.stop()


def test_suspend_holds_apply_and_promotion_across_replicas_until_resume(
    replicas: Replicas, namespace: str
) -> None:
    r = replicas
    first = r.bus.commit(
        "staging",
        {"manifests/app.yaml": _config_map(namespace, "1")},
        message="One\n\nDelivery: one",
    )
    eventually("the first delivery applied", lambda: r.level() == "1", timeout=90, logs=r.logs)
    applied_at = time.monotonic()

    # Suspended while the leader soaks it: no Healthy note, no promotion.
    held = r.cli("suspend", "staging", "--reason", "incident 42")
    assert held["suspended"] is True
    assert held["changed"] is True
    # Its own file: each delivery is promoted on its own, and a change to a file
    # production never received would not apply there.
    second = r.bus.commit(
        "staging",
        {"manifests/app.yaml": None, "manifests/two.yaml": _config_map(namespace, "2")},
        message="Two\n\nDelivery: two",
    )
    time.sleep(max(0.0, applied_at + SOAK + 4 - time.monotonic()))
    assert r.phases(first) == []
    assert r.phases(second) == []
    assert r.level() == "1"
    assert not r.bus.has_remote_branch("pr/production/one")
    leader = r.holder()
    assert leader in r.agents, r.logs()
    assert "staging is suspended by" in r.agents[leader].log()

    # The leader goes; the standby takes over, reads the suspension from Git, and holds.
    r.agents[leader].stop()
    standby = next(name for name in r.agents if name != leader)
    eventually("the standby to lead", lambda: r.holder() == standby, timeout=30, logs=r.logs)
    eventually(
        "the new leader to see the suspension",
        lambda: "incident 42; holding apply and promotion" in r.agents[standby].log(),
        timeout=15,
        logs=r.logs,
    )
    time.sleep(3)
    assert r.level() == "1"
    assert r.phases(second) == []

    status = CliRunner().invoke(main, ["status", "--repo", str(r.bus.bare), "-o", "json"])
    (staging,) = [e for e in json.loads(status.stdout)["environments"] if e["name"] == "staging"]
    assert staging["suspended"]["reason"] == "incident 42"

    # Resume: the new leader applies the tip, soaks it and promotes it.
    released = r.cli("resume", "staging")
    assert released["suspended"] is False
    eventually(
        "the tip promoted after resume",
        lambda: "Promoted" in r.phases(second),
        timeout=90,
        logs=r.logs,
    )
    assert r.level() == "2"
    assert r.bus.has_remote_branch("pr/production/two")
    # The held delivery is not lost: the tip's verdict covers it, and it goes out too.
    assert "Superseded" in r.phases(first)
    assert r.bus.has_remote_branch("pr/production/one")
