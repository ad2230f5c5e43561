"""`orchestrator publish` writes a candidate delivery from a directory, once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from tests.support.workrepo import WorkRepo

POLICY = """apiVersion: orchestrator.dev/v1alpha1
kind: PromotionPolicy
environments:
  staging: {path: deploy/app}
"""
DEPLOYMENT = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: app}\n"
SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: app}\n"


def test_publish_a_directory_as_a_candidate_delivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "bus").mkdir()
    bus = WorkRepo(tmp_path / "bus")
    bus.commit(
        "staging",
        {
            ".orchestrator/policy.yaml": POLICY,
            "deploy/app/old.yaml": "kind: ConfigMap\n",
            "deploy/app/.orchestrator/params/staging.yaml": "replicas: 2\n",
        },
        message="staging",
    )
    rendered = tmp_path / "rendered"
    (rendered / "sub").mkdir(parents=True)
    (rendered / "app.yaml").write_text(DEPLOYMENT)
    (rendered / "sub" / "svc.yaml").write_text(SERVICE)
    args = [
        "publish", "--repo", str(bus.bare), "--env", "staging", "--feature", "feature-a",
        "--from", str(rendered), "--source-commit", "b" * 40, "-o", "json",
    ]  # fmt: skip

    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    result = json.loads(first.stdout)
    assert result["ref"] == "refs/heads/pr/staging/feature-a"
    assert result["pushed"] is True
    tip = bus.tip("pr/staging/feature-a")
    assert bus.show(tip, "deploy/app/app.yaml") == DEPLOYMENT.strip()
    assert bus.show(tip, "deploy/app/sub/svc.yaml") == SERVICE.strip()
    with pytest.raises(AssertionError):
        bus.show(tip, "deploy/app/old.yaml")  # the delivery directory is replaced
    # ... but not the environments' parameters, which the repository keeps.
    assert bus.show(tip, "deploy/app/.orchestrator/params/staging.yaml") == "replicas: 2"
    assert bus.show(tip, ".orchestrator/policy.yaml").startswith("apiVersion")
    assert bus.trailers(tip) == [("Delivery", "feature-a"), ("Source-Commit", "b" * 40)]

    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0
    assert json.loads(again.stdout)["pushed"] is False
    assert bus.tip("pr/staging/feature-a") == tip


def test_publish_refuses_a_bad_feature_name(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "publish",
            "--repo",
            str(tmp_path),
            "--env",
            "staging",
            "--feature",
            "../x",
            "--from",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert "invalid feature name" in result.output


def test_publish_leaves_parameters_to_the_agents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each agent fills placeholders from its own settings: a missing value is not refused."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "bus").mkdir()
    bus = WorkRepo(tmp_path / "bus")
    bus.commit("staging", {".orchestrator/policy.yaml": POLICY}, message="staging")
    rendered = tmp_path / "rendered"
    rendered.mkdir()
    (rendered / "app.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: app}\n"
        'data: {replicas: "$(params.replicas)$"}\n'
    )
    result = CliRunner().invoke(
        main,
        [
            "publish", "--repo", str(bus.bare), "--env", "staging", "--feature", "params",
            "--from", str(rendered),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert bus.has_remote_branch("pr/staging/params")
