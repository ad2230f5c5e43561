"""`orchestrator wait` while a real agent delivers: the phase, a failure, a timeout."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.controlplane import Cluster
from tests.support.agents import ORCHESTRATOR, AgentProcess
from tests.support.workrepo import WorkRepo

POLICY = """apiVersion: orchestrator.dev/v1alpha1
kind: PromotionPolicy
environments:
  staging: {}
"""


def _config_map(namespace: str, name: str, value: str) -> str:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        f"data: {{level: {value!r}}}\n"
    )


def _wait(bus: WorkRepo, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ORCHESTRATOR_REPO": str(bus.bare)}
    env["XDG_CACHE_HOME"] = str(tmp_path / f"xdg-{uuid.uuid4().hex[:6]}")
    return subprocess.Popen(
        [str(ORCHESTRATOR), "wait", "staging", "-o", "json", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], timeout: float) -> tuple[int, dict[str, object], str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, json.loads(out), err


@pytest.fixture
def bus(tmp_path: Path, namespace: str) -> WorkRepo:
    (tmp_path / "bus").mkdir()
    repo = WorkRepo(tmp_path / "bus")
    repo.commit(
        "staging",
        {
            ".orchestrator/policy.yaml": POLICY,
            "manifests/app.yaml": _config_map(namespace, "a", "1"),
        },
        message="Set up staging",
    )
    return repo


@pytest.fixture
def agent(
    cluster: Cluster, namespace: str, tmp_path: Path, bus: WorkRepo
) -> Iterator[AgentProcess]:
    process = AgentProcess(
        name="staging-wait",
        settings={
            "ORCHESTRATOR_GIT__URL": str(bus.bare),
            "ORCHESTRATOR_GIT__CACHE_DIR": str(tmp_path / "cache"),
            "ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS": "1",
            "ORCHESTRATOR_AGENT__ENVIRONMENT": "staging",
            "ORCHESTRATOR_CLUSTER__KUBECONFIG": str(cluster.kubeconfig),
            "ORCHESTRATOR_CLUSTER__NAMESPACE": namespace,
            "ORCHESTRATOR_SERVER__ENABLED": "false",
        },
        log_dir=tmp_path,
    )
    process.start()
    yield process
    process.stop()


def test_wait_blocks_until_healthy_then_exits_non_zero_on_failed(
    agent: AgentProcess, bus: WorkRepo, namespace: str, tmp_path: Path
) -> None:
    # Waiting starts before the delivery exists: it must block, not fail.
    healthy = _wait(bus, tmp_path, "--feature", "good", "--timeout", "120", "--interval", "0.5")
    good = bus.commit(
        "staging",
        {"manifests/app.yaml": _config_map(namespace, "a", "2")},
        message="Level 2\n\nDelivery: good",
    )
    code, report, err = _finish(healthy, 150)
    assert code == 0, (err, agent.log()[-3000:])
    assert report["result"] == "reached"
    delivery = report["delivery"]
    assert isinstance(delivery, dict)
    assert delivery["revision"] == good
    assert delivery["phase"] in ("Healthy", "Promoted")

    failing = _wait(bus, tmp_path, "--feature", "bad", "--timeout", "120", "--interval", "0.5")
    bus.commit(
        "staging",
        {"manifests/app.yaml": _config_map(namespace, "a", "$(params.missing)$")},
        message="Needs a parameter nobody gives\n\nDelivery: bad",
    )
    code, report, err = _finish(failing, 150)
    assert code == 1, (report, err, agent.log()[-3000:])
    assert report["result"] == "failed"
    assert str(report["detail"]).startswith("Failed (BuildFailed")
    assert "failed: staging@" not in err  # -o json: the document, not the person's line


def test_wait_times_out_with_its_own_exit_code(bus: WorkRepo, tmp_path: Path) -> None:
    # No agent: the tip is never reconciled.
    code, report, err = _finish(_wait(bus, tmp_path, "--timeout", "2", "--interval", "0.5"), 30)
    assert code == 4, err
    assert report["result"] == "pending"
    assert 2.0 <= float(str(report["waited_seconds"])) < 10
