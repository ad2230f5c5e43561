"""`orchestrator reconcile ENV` against a real agent process, cluster and bare repository."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from e2e.controlplane import Cluster
from orchestrator.cli import main
from tests.support.agents import AgentProcess, eventually
from tests.support.workrepo import WorkRepo, git

POLICY = """apiVersion: orchestrator.dev/v1alpha1
kind: PromotionPolicy
environments:
  staging: {}
"""
SECRET = "reconcile-test-secret"


def _config_map(namespace: str, name: str, level: str) -> str:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        f"data: {{level: {level}}}\n"
    )


def _phase(bus: WorkRepo, sha: str) -> str | None:
    try:
        note = git("notes", "--ref=orchestrator/staging", "show", sha, cwd=bus.bare)
    except AssertionError:
        return None
    entries = json.loads(note)["entries"]
    return str(entries[-1]["phase"]) if entries else None


def test_reconcile_triggers_at_once_and_reapplies_an_unmoved_tip(
    cluster: Cluster,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"cm-{uuid.uuid4().hex[:6]}"
    (tmp_path / "bus").mkdir()
    bus = WorkRepo(tmp_path / "bus")
    first = bus.commit(
        "staging",
        {
            ".orchestrator/policy.yaml": POLICY,
            "manifests/app.yaml": _config_map(namespace, name, "info"),
        },
        message="Deliver info",
    )
    agent = AgentProcess(
        name="staging-reconcile",
        settings={
            "ORCHESTRATOR_GIT__URL": str(bus.bare),
            "ORCHESTRATOR_GIT__CACHE_DIR": str(tmp_path / "cache"),
            # Neither a poll nor a drift run would come in this test's lifetime.
            "ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS": "600",
            "ORCHESTRATOR_AGENT__DRIFT_INTERVAL_SECONDS": "600",
            "ORCHESTRATOR_AGENT__ENVIRONMENT": "staging",
            "ORCHESTRATOR_CLUSTER__KUBECONFIG": str(cluster.kubeconfig),
            "ORCHESTRATOR_CLUSTER__NAMESPACE": namespace,
            "ORCHESTRATOR_SERVER__PORT": "0",
            "ORCHESTRATOR_SERVER__WEBHOOK_SECRET": SECRET,
        },
        log_dir=tmp_path,
    ).start()
    try:
        assert eventually(
            "the first delivery", lambda: _phase(bus, first), timeout=90, logs=agent.log
        ) in ("Healthy", "Promoted")
        found = re.search(r"serving HTTP on (http://127\.0\.0\.1:\d+)", agent.log())
        assert found is not None, agent.log()
        monkeypatch.setenv("ORCHESTRATOR_SERVER__WEBHOOK_SECRET", SECRET)
        args = ["reconcile", "staging", "--agent", found[1]]

        second = bus.commit(
            "staging",
            {"manifests/app.yaml": _config_map(namespace, name, "debug")},
            message="debug",
        )
        asked = time.monotonic()
        result = CliRunner().invoke(main, [*args, "-o", "json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["triggered"] is True
        eventually(
            "the new tip to be applied",
            lambda: f"{second[:12]}: applying" in agent.log(),
            timeout=2.0,
            interval=0.05,
            logs=agent.log,
        )
        assert time.monotonic() - asked < 2.0

        # The tip has not moved; a reconcile still re-applies it (a deleted object returns).
        eventually("the second delivery", lambda: _phase(bus, second), timeout=60, logs=agent.log)
        path = f"/api/v1/namespaces/{namespace}/configmaps/{name}"
        assert cluster.admin().request("DELETE", path).ok
        again = CliRunner().invoke(main, args)
        assert again.exit_code == 0, again.output
        assert again.stdout == "staging: reconciling staging now\n"

        def restored() -> bool:
            live = cluster.admin().request("GET", path)
            return live.status == 200 and live.body["data"] == {"level": "debug"}

        eventually("the deleted ConfigMap to be re-applied", restored, timeout=20, logs=agent.log)

        monkeypatch.setenv("ORCHESTRATOR_SERVER__WEBHOOK_SECRET", "not-the-secret")
        refused = CliRunner().invoke(main, args)
        assert refused.exit_code == 1
        assert refused.stderr.startswith("error: ")
        assert "401" in refused.stderr
    finally:
        agent.stop()
