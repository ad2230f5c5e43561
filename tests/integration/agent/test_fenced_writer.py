"""A leader frozen between verifying and pushing must not undo a newer promotion.

Two replicas of the staging agent elect a leader through a Lease on a real
cluster and promote straight into `production` (auto mode) on a real bare
repository. The first replica freezes itself (SIGSTOP, as a long GC pause or a
stopped VM would) just before it pushes the promotion of revision A. The second
takes the Lease over, promotes A, then the newer revision B. When the first
wakes up, it still holds a rebuild of "Promote A": it must push nothing.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.controlplane import Cluster
from orchestrator.kube.client import KubeClient
from tests.support.agents import AgentProcess, eventually
from tests.support.workrepo import WorkRepo, git

from .trust_env import config_map, documents

pytestmark = pytest.mark.slow

LEADER = {
    "ORCHESTRATOR_LEADER__ENABLED": "true",
    "ORCHESTRATOR_LEADER__LEASE_DURATION_SECONDS": "4",
    "ORCHESTRATOR_LEADER__RENEW_DEADLINE_SECONDS": "2.5",
    "ORCHESTRATOR_LEADER__RENEW_INTERVAL_SECONDS": "0.8",
    "ORCHESTRATOR_LEADER__RETRY_PERIOD_SECONDS": "0.3",
}


def _policy(app_ns: str) -> str:
    env = {"allow": {"namespaces": [app_ns]}, "health": {"timeout": "30s"}}
    return yaml.safe_dump(
        {
            "apiVersion": "orchestrator.dev/v1alpha1",
            "kind": "PromotionPolicy",
            "environments": {
                "staging": {**env, "promotion": {"to": ["production"], "mode": "auto"}},
                "production": env,
            },
        }
    )


class Replicas:
    def __init__(self, *, cluster: Cluster, root: Path) -> None:
        self.uid = uuid.uuid4().hex[:8]
        self.root = root
        self.cluster = cluster
        self.kube = KubeClient.from_kubeconfig(cluster.kubeconfig)
        self.agent_ns = f"agent-{self.uid}"
        self.app_ns = f"app-{self.uid}"
        for name in (self.agent_ns, self.app_ns):
            self.kube.apply(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                field_manager="test-admin",
            )
        (root / "bus").mkdir()
        self.bus = WorkRepo(root / "bus")
        self.agents: list[AgentProcess] = []

    def app(self, version: str) -> str:
        return documents(config_map("app", self.app_ns, version=version))

    def replica(self, name: str, **extra: str) -> AgentProcess:
        settings = {
            "ORCHESTRATOR_GIT__URL": str(self.bus.bare),
            "ORCHESTRATOR_GIT__CACHE_DIR": str(self.root / "cache" / name),
            "ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS": "1",
            "ORCHESTRATOR_AGENT__ENVIRONMENT": "staging",
            "ORCHESTRATOR_AGENT__IDENTITY": "staging-agent",
            "ORCHESTRATOR_AGENT__DRIFT_INTERVAL_SECONDS": "30",
            "ORCHESTRATOR_LEADER__IDENTITY": name,
            "ORCHESTRATOR_CLUSTER__KUBECONFIG": str(self.cluster.kubeconfig),
            "ORCHESTRATOR_CLUSTER__NAMESPACE": self.agent_ns,
            "ORCHESTRATOR_SERVER__ENABLED": "false",
            **LEADER,
            **extra,
        }
        agent = AgentProcess(name=name, settings=settings, log_dir=self.root)
        self.agents.append(agent)
        return agent

    def promoted_from(self) -> str | None:
        """The staging revision production's tip was promoted from."""
        for key, value in self.bus.trailers(self.bus.tip("production")):
            if key == "Promoted-From":
                return value.partition("@")[2]
        return None

    def note(self, revision: str) -> list[dict[str, Any]]:
        text = git(
            "notes", "--ref=refs/notes/orchestrator/staging", "show", revision, cwd=self.bus.bare
        )
        entries: list[dict[str, Any]] = json.loads(text)["entries"]
        return entries

    def logs(self) -> str:
        return "\n".join(f"=== {a.name}\n{a.log()[-4000:]}" for a in self.agents)

    def close(self) -> None:
        for agent in self.agents:
            if agent.proc is not None and agent.proc.poll() is None:
                agent.proc.send_signal(signal.SIGCONT)
            agent.stop()
        for name in (self.app_ns, self.agent_ns):
            self.kube.delete(api_version="v1", kind="Namespace", name=name)
        self.kube.close()


def _stopped(agent: AgentProcess) -> bool:
    assert agent.proc is not None
    stat = Path(f"/proc/{agent.proc.pid}/stat").read_text()
    return stat.rpartition(")")[2].split()[0] == "T"


@pytest.fixture
def replicas(cluster: Cluster, tmp_path: Path) -> Iterator[Replicas]:
    r = Replicas(cluster=cluster, root=tmp_path)
    try:
        yield r
    finally:
        r.close()


def test_a_leader_resumed_after_a_newer_promotion_pushes_nothing_stale(
    replicas: Replicas,
) -> None:
    bus = replicas.bus
    policy = _policy(replicas.app_ns)
    bus.commit(
        "production",
        {".orchestrator/policy.yaml": policy, "manifests/app.yaml": replicas.app("none")},
        message="Set up production",
    )
    a = bus.commit(
        "staging",
        {".orchestrator/policy.yaml": policy, "manifests/app.yaml": replicas.app("A")},
        message="Deliver A",
    )
    frozen = replicas.replica(
        "replica-1", ORCHESTRATOR_FAILPOINTS="before-promotion-push=stop"
    ).start()
    eventually(
        "replica-1 frozen before pushing A",
        lambda: _stopped(frozen),
        timeout=120,
        logs=replicas.logs,
    )

    replicas.replica("replica-2").start()
    eventually("A promoted", lambda: replicas.promoted_from() == a, logs=replicas.logs)
    b = bus.commit("staging", {"manifests/app.yaml": replicas.app("B")}, message="Deliver B")
    eventually("B promoted", lambda: replicas.promoted_from() == b, logs=replicas.logs)
    newest = bus.tip("production")

    assert frozen.proc is not None
    frozen.proc.send_signal(signal.SIGCONT)
    eventually(
        "replica-1 refusing its stale write",
        lambda: "write refused" in frozen.log() or "is not the leader" in frozen.log(),
        timeout=60,
        logs=replicas.logs,
    )
    time.sleep(3)  # anything it would still push would be there by now

    assert bus.tip("production") == newest
    assert "version: B" in bus.show("production", "manifests/app.yaml")
    # Notes say which replica wrote them, in which term of the Lease.
    promoted = [e for e in replicas.note(b) if e["phase"] == "Promoted"]
    assert [(e["writer"], e["fencingToken"]) for e in promoted] == [("replica-2", 1)]
    healthy_a = [e for e in replicas.note(a) if e["phase"] == "Healthy"]
    assert [(e["writer"], e["fencingToken"]) for e in healthy_a] == [("replica-1", 0)]
