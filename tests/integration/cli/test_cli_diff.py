"""`orchestrator diff` against a real cluster: changes shown, Secret values masked."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from e2e.controlplane import Cluster
from orchestrator.cli import main
from orchestrator.kube.client import KubeClient
from tests.support.workrepo import WorkRepo

POLICY = """apiVersion: orchestrator.dev/v1alpha1
kind: PromotionPolicy
environments:
  staging: {}
"""


def test_diff_shows_live_versus_branch_and_masks_secrets(
    cluster: Cluster, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    name = f"cfg-{uuid.uuid4().hex[:6]}"
    # What the staging agent applied earlier (same field manager), before the branch moved on.
    client = KubeClient.from_kubeconfig(cluster.kubeconfig)
    client.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
            "data": {"level": "info"},
        },
        field_manager="orchestrator-staging",
    )
    client.close()
    (tmp_path / "bus").mkdir()
    bus = WorkRepo(tmp_path / "bus")
    manifests = (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        "data: {level: debug}\n---\n"
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: creds, namespace: {namespace}}}\n"
        "stringData: {password: hunter2-very-secret}\n"
    )
    bus.commit(
        "staging",
        {".orchestrator/policy.yaml": POLICY, "manifests/app.yaml": manifests},
        message="x",
    )

    args = [
        "diff",
        "--repo",
        str(bus.bare),
        "--env",
        "staging",
        "--kubeconfig",
        str(cluster.kubeconfig),
    ]
    text = CliRunner().invoke(main, [*args, "--exit-code"])
    assert text.exit_code == 1, text.output
    assert "-  level: info" in text.output
    assert "+  level: debug" in text.output
    assert "hunter2-very-secret" not in text.output

    as_json = CliRunner().invoke(main, [*args, "-o", "json"])
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    actions = {d["object"]: d["action"] for d in report}
    assert actions[f"ConfigMap/{namespace}/{name}"] == "update"
    assert actions[f"Secret/{namespace}/creds"] == "create"
    assert "hunter2-very-secret" not in as_json.output
