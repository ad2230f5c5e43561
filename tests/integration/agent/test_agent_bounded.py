"""Hostile input cannot stall or exhaust the agent, and a stuck stage is not hidden.

Real agents, real repositories, real clusters: an alias-bomb policy and a
2 GiB blob of zeros are refused quickly and cheaply with a Failed note, and a
stage that never returns makes /healthz fail so that the pod is restarted.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.controlplane import Cluster
from tests.integration.agent.test_pr_flow import Flow
from tests.integration.agent.test_trust_root import config, configmap, policy
from tests.integration.gitbus.gitbus_servers import GitDaemon
from tests.support.agents import AgentProcess, eventually
from tests.support.hostile import commit_with_blob, zero_blob

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[2] / "unit" / "promote" / "policy" / "fixtures"
GiB = 1024 * 1024 * 1024


@pytest.fixture
def flow(clusters: dict[str, Cluster], tmp_path: Path) -> Iterator[Flow]:
    f = Flow(clusters=clusters, root=tmp_path)
    try:
        yield f
    finally:
        f.close()


def healthz(agent: AgentProcess) -> int:
    """The status of the agent's /healthz (its port is in its log)."""
    found = re.search(r"serving HTTP on (http://\S+)", agent.log())
    assert found, agent.log()
    try:
        with urllib.request.urlopen(f"{found[1]}/healthz", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def peak_rss(agent: AgentProcess) -> int:
    """The agent process's peak resident memory so far, in bytes (VmHWM)."""
    assert agent.proc is not None
    status = Path(f"/proc/{agent.proc.pid}/status").read_text()
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    assert found, status
    return int(found[1]) * 1024


def test_an_alias_bomb_policy_is_refused_at_once_and_the_agent_serves_on(flow: Flow) -> None:
    agent = flow.agent("staging").start()
    bomb = (FIXTURES / "policy-alias-bomb.yaml").read_text()
    pushed = time.monotonic()
    sha = flow.bus.commit(
        "staging",
        {".orchestrator/policy.yaml": bomb, "manifests/app.yaml": config(flow.app_ns, "bomb")},
        message="Deliver bomb\n\nDelivery: bomb",
    )
    failed = flow.wait_phase("staging", sha, "Failed", timeout=30)
    assert time.monotonic() - pushed < 20
    assert failed["stage"] == "PolicyInvalid"
    assert "expands to more than 100,000 nodes" in failed["message"]
    assert healthz(agent) == 200

    # A delivery of its own (its own file): the refused one is never promoted, so a
    # change to its file would not apply on production.
    good = flow.bus.commit(
        "staging",
        {
            ".orchestrator/policy.yaml": policy(),
            "manifests/app.yaml": None,
            "manifests/good.yaml": config(flow.app_ns, "good"),
        },
        message="Deliver good\n\nDelivery: good",
    )
    flow.wait_phase("staging", good, "Promoted", timeout=60)
    assert configmap(flow, "good") is not None


def test_two_gib_of_zeros_are_refused_without_the_memory_they_would_take(
    flow: Flow, tmp_path: Path
) -> None:
    # Served by git itself, as a Git host does: the agent's own reads are what is measured.
    daemon = GitDaemon(base=flow.bus.bare.parent).start()
    try:
        flow.bus.commit(
            "staging",
            {".orchestrator/policy.yaml": policy(), "manifests/app.yaml": config(flow.app_ns, "a")},
            message="Deliver a\n\nDelivery: a",
        )
        blob = zero_blob(flow.bus.bare, size=2 * GiB, scratch=tmp_path / "scratch")
        sha = commit_with_blob(
            flow.bus.bare,
            branch="staging",
            path=".orchestrator/zeros",
            blob=blob,
            message="Deliver zeros\n\nDelivery: zeros",
        )
        agent = flow.agent("staging", ORCHESTRATOR_GIT__URL=daemon.url(flow.bus.bare.name))
        agent.start()
        failed = flow.wait_phase("staging", sha, "Failed", timeout=300)
        assert failed["stage"] == "PolicyInvalid"
        assert ".orchestrator/zeros: is 2,147,483,648 bytes" in failed["message"]
        assert "trust.max_file_bytes" in failed["message"]
        assert peak_rss(agent) < 300 * 1024 * 1024
        assert healthz(agent) == 200
        assert configmap(flow, "a") is None  # the tip was refused, nothing of it applied
    finally:
        daemon.stop()


def test_a_stage_past_its_deadline_fails_healthz_and_is_noted(flow: Flow) -> None:
    agent = flow.agent(
        "staging",
        ORCHESTRATOR_FAILPOINTS="stall-build",
        ORCHESTRATOR_AGENT__STAGE_DEADLINE_SECONDS="3",
    ).start()
    sha = flow.bus.commit(
        "staging",
        {".orchestrator/policy.yaml": policy(), "manifests/app.yaml": config(flow.app_ns, "stuck")},
        message="Deliver stuck\n\nDelivery: stuck",
    )
    failed = flow.wait_phase("staging", sha, "Failed", timeout=60)
    assert failed["stage"] == "BuildFailed"
    assert "past its deadline of 3s" in failed["message"]
    assert healthz(agent) == 503
    eventually("the agent still serving", lambda: agent.running, timeout=1)
