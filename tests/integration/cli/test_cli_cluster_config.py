"""Which cluster commands talk to: $KUBECONFIG, --kubeconfig/--context, and none at all.

Real kube-apiserver from the harness, real bare repositories, the agent as a real process.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from e2e.controlplane import Cluster
from orchestrator.cli import main
from tests.support.agents import ORCHESTRATOR, AgentProcess, eventually
from tests.support.workrepo import WorkRepo, git

POLICY = """apiVersion: orchestrator.dev/v1alpha1
kind: PromotionPolicy
environments:
  staging: {}
"""


def _config_map(namespace: str, name: str) -> str:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        "data: {level: debug}\n"
    )


def _bus(root: Path, namespace: str, name: str) -> WorkRepo:
    (root / "bus").mkdir()
    bus = WorkRepo(root / "bus")
    bus.commit(
        "staging",
        {".orchestrator/policy.yaml": POLICY, "manifests/app.yaml": _config_map(namespace, name)},
        message="Deliver a ConfigMap",
    )
    return bus


def _two_contexts(cluster: Cluster, path: Path) -> Path:
    """The harness's kubeconfig plus a dead context that is the current one."""
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["clusters"].append({"name": "dead", "cluster": {"server": "https://127.0.0.1:1"}})
    config["contexts"].append({"name": "dead", "context": {"cluster": "dead", "user": "none"}})
    config["users"].append({"name": "none", "user": {"token": "x"}})
    config["current-context"] = "dead"
    path.write_text(yaml.safe_dump(config))
    return path


def _no_cluster_env(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_the_agent_delivers_through_kubeconfig_from_the_environment(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    name = f"cm-{uuid.uuid4().hex[:6]}"
    bus = _bus(tmp_path, namespace, name)
    agent = AgentProcess(
        name="staging-kubeconfig-env",
        settings={
            "ORCHESTRATOR_GIT__URL": str(bus.bare),
            "ORCHESTRATOR_GIT__CACHE_DIR": str(tmp_path / "cache"),
            "ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS": "1",
            "ORCHESTRATOR_AGENT__ENVIRONMENT": "staging",
            "ORCHESTRATOR_CLUSTER__NAMESPACE": namespace,
            "ORCHESTRATOR_SERVER__PORT": "0",
        },
        log_dir=tmp_path,
    )
    home = tmp_path / "home"
    home.mkdir()
    # No cluster.kubeconfig setting: only $KUBECONFIG says where the cluster is.
    agent.start(KUBECONFIG=str(cluster.kubeconfig), HOME=str(home))
    try:
        tip = git("rev-parse", "staging", cwd=bus.bare)

        def phase() -> str | None:
            try:
                note = git("notes", "--ref=orchestrator/staging", "show", tip, cwd=bus.bare)
            except AssertionError:
                return None
            entries = json.loads(note)["entries"]
            return str(entries[-1]["phase"]) if entries else None

        assert eventually("a note on the staging tip", phase, timeout=90, logs=agent.log) in (
            "Healthy",
            "Promoted",
        )
        live = cluster.admin().request("GET", f"/api/v1/namespaces/{namespace}/configmaps/{name}")
        assert live.status == 200, live.body
        assert "(from $KUBECONFIG)" in agent.log()
    finally:
        agent.stop()


def test_diff_follows_kubeconfig_env_and_context_flag(
    cluster: Cluster, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _no_cluster_env(monkeypatch, tmp_path / "home")
    bus = _bus(tmp_path, namespace, f"cm-{uuid.uuid4().hex[:6]}")
    config = _two_contexts(cluster, tmp_path / "two.kubeconfig")
    args = ["diff", "--repo", str(bus.bare), "--env", "staging", "-o", "json"]

    monkeypatch.setenv("KUBECONFIG", str(config))
    dead = CliRunner().invoke(main, args)
    assert dead.exit_code == 1
    assert "127.0.0.1:1" in dead.stderr
    assert "Traceback" not in dead.output

    chosen = CliRunner().invoke(main, [*args, "--context", cluster.name])
    assert chosen.exit_code == 0, chosen.output
    assert [d["action"] for d in json.loads(chosen.stdout)] == ["create"]

    monkeypatch.delenv("KUBECONFIG")
    flag = CliRunner().invoke(main, [*args, "--kubeconfig", str(config), "--context", cluster.name])
    assert flag.exit_code == 0, flag.output


def test_no_cluster_configuration_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_cluster_env(monkeypatch, tmp_path / "home")
    bus = _bus(tmp_path, "default", "cm")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}
    env.update(
        ORCHESTRATOR_GIT__URL=str(bus.bare),
        ORCHESTRATOR_GIT__CACHE_DIR=str(tmp_path / "cache"),
        ORCHESTRATOR_AGENT__ENVIRONMENT="staging",
        ORCHESTRATOR_SERVER__PORT="0",
    )
    agent = subprocess.run(
        [str(ORCHESTRATOR), "agent"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert agent.returncode == 1
    errors = [line for line in agent.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: no cluster configured: not in a cluster ($KUBERNETES_SERVICE_HOST unset), "
        f"$KUBECONFIG unset, {tmp_path / 'home' / '.kube' / 'config'} missing; pass "
        "--kubeconfig or set cluster.kubeconfig (ORCHESTRATOR_CLUSTER__KUBECONFIG)"
    ], agent.stderr
    assert "Traceback" not in agent.stderr

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    diff = CliRunner().invoke(main, ["diff", "--repo", str(bus.bare), "--env", "staging"])
    assert diff.exit_code == 1
    assert diff.stderr.startswith("error: no cluster configured:")
    assert len(diff.stderr.strip().splitlines()) == 1
