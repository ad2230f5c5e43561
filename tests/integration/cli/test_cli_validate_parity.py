"""Every refusal of the agent's loader is a refusal of `validate` (and of `publish`), with the
same reason: one table of inputs (fixtures/refusals.yaml), each committed to a real bare
repository and reconciled by the agent's own pipeline against a real cluster, then checked
out for the CLI with the very same agent settings."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from e2e.controlplane import Cluster
from orchestrator.agent.reconcile import Pipeline
from orchestrator.cli import main
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.kube.client import KubeClient
from orchestrator.promote.revision.source import checked_delivery
from orchestrator.record import Phase, Stage
from orchestrator.settings import Settings
from tests.support.workrepo import WorkRepo, git

TABLE = yaml.safe_load((Path(__file__).with_name("fixtures") / "refusals.yaml").read_text())
CASES = {case["name"]: case for case in TABLE["cases"]}
SECRET = "TOP-SECRET"
# Stages that run before anything reaches the cluster (`Stages.admit` of the reconciler).
ADMISSION = {Stage.SIGNATURE, Stage.POLICY, Stage.ARTIFACT, Stage.BUILD, Stage.NOT_ALLOWED}


def _commit_case(root: Path, case: dict[str, Any]) -> tuple[WorkRepo, str]:
    """The case as a commit on `staging` of a bare repository, and its checkout."""
    (root / "bus").mkdir()
    bus = WorkRepo(root / "bus")
    git("checkout", "--quiet", "--orphan", "staging", cwd=bus.work)
    for path, content in case.get("outside", {}).items():
        (root / "bus" / path).parent.mkdir(parents=True, exist_ok=True)
        (root / "bus" / path).write_text(content)
    for path, content in case.get("files", {}).items():
        (bus.work / path).parent.mkdir(parents=True, exist_ok=True)
        (bus.work / path).write_text(content)
    for path, size in case.get("sized", {}).items():
        (bus.work / path).write_bytes(b"#" * (size - 1) + b"\n")
    for path, target in case.get("links", {}).items():
        (bus.work / path).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, bus.work / path)
    git("add", "--all", cwd=bus.work)
    git("commit", "--quiet", "-m", case["name"], cwd=bus.work)
    git("push", "--quiet", "origin", "HEAD:refs/heads/staging", cwd=bus.work)
    return bus, git("rev-parse", "HEAD", cwd=bus.work)


def _agent_settings(root: Path, bus: WorkRepo, cluster: Cluster, case: dict[str, Any]) -> Path:
    """One settings file, for the agent's pipeline and for `validate --config` alike."""
    path = root / "agent.yaml"
    settings = {
        "git": {"url": str(bus.bare), "cache_dir": str(root / "agent-cache")},
        "agent": {"environment": "staging", "identity": "staging-agent"},
        "cluster": {"kubeconfig": str(cluster.kubeconfig), "namespace": "default"},
        "server": {"enabled": False},
        "trust": {"ceiling": case.get("ceiling", {})},
    }
    path.write_text(yaml.safe_dump(settings))
    return path


def _agent_refusals(root: Path, config: Path, cluster: Cluster, revision: str) -> list[str]:
    """What the agent's own reconcile of `revision` refuses it for (its note's message)."""
    settings = Settings.model_validate(yaml.safe_load(config.read_text()))
    repo = CacheRepo.open(root / "cache", remote_url=settings.git.url)
    repo.poll(["refs/heads/staging"])
    kube = KubeClient.from_kubeconfig(cluster.kubeconfig)
    try:
        outcome = Pipeline(settings=settings, repo=repo, kube=kube).reconcile(revision)
    finally:
        kube.close()
    assert outcome.phase == Phase.FAILED, outcome
    assert outcome.stage in ADMISSION, outcome  # refused before anything was applied
    first, *rest = outcome.message.splitlines()
    reasons = [line.strip() for line in rest] or [first]  # several: one per line
    return [reason.removeprefix(f"{repo.remote}: ") for reason in reasons]


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_refuses_what_the_agent_refuses(
    name: str, tmp_path: Path, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ORCHESTRATOR_CONFIG", raising=False)
    case = CASES[name]
    bus, revision = _commit_case(tmp_path, case)
    config = _agent_settings(tmp_path, bus, cluster, case)

    agent = _agent_refusals(tmp_path, config, cluster, revision)
    assert any(case["reason"] in reason for reason in agent), agent

    result = CliRunner().invoke(
        main, ["validate", str(bus.work), "--config", str(config), "-o", "json"]
    )
    assert result.exit_code == 3, result.output
    problems = json.loads(result.stdout)["problems"]
    for reason in agent:
        shown = reason.replace(revision[:12], str(bus.work))  # the revision's label
        assert any(shown in problem for problem in problems), (shown, problems)
    assert SECRET not in result.output  # a link's target is never read, never echoed


def test_what_validate_passes_gets_past_the_agents_admission(
    tmp_path: Path, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ORCHESTRATOR_CONFIG", raising=False)
    defaults = TABLE["defaults"]
    case = {"name": "clean", "files": {
        ".orchestrator/policy.yaml": defaults["policy"], "deploy/app.yaml": defaults["app"],
    }}  # fmt: skip
    bus, revision = _commit_case(tmp_path, case)
    config = _agent_settings(tmp_path, bus, cluster, case)
    result = CliRunner().invoke(main, ["validate", str(bus.work), "--config", str(config)])
    assert result.exit_code == 0, result.output
    settings = Settings.model_validate(yaml.safe_load(config.read_text()))
    repo = CacheRepo.open(tmp_path / "cache", remote_url=settings.git.url)
    repo.poll(["refs/heads/staging"])
    kube = KubeClient.from_kubeconfig(cluster.kubeconfig)
    try:
        outcome = Pipeline(settings=settings, repo=repo, kube=kube).reconcile(revision)
    finally:
        kube.close()
    assert outcome.stage not in ADMISSION, outcome


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "publish" in c))
def test_publish_refuses_it_before_anything_is_pushed(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    case = CASES[name]
    bus, _ = _commit_case(tmp_path, case)
    directory = case["publish"]
    # The branch loses the directory (the checkout keeps it): publishing it is a change.
    git("rm", "-r", "--quiet", "--cached", directory, cwd=bus.work)
    git("commit", "--quiet", "-m", "without the delivery", cwd=bus.work)
    git("push", "--quiet", "origin", "HEAD:refs/heads/staging", cwd=bus.work)
    result = CliRunner().invoke(
        main,
        [
            "publish", "--repo", str(bus.bare), "--env", "staging", "--feature", name,
            "--from", str(bus.work / directory),
        ],
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert case["reason"].removeprefix(f"{directory}/") in result.output
    assert SECRET not in result.output
    assert git("ls-remote", str(bus.bare), f"refs/heads/pr/staging/{name}", cwd=tmp_path) == ""


@pytest.mark.parametrize("feature", TABLE["delivery_names"])
def test_a_delivery_name_the_agent_refuses_is_not_published(
    feature: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    with pytest.raises(ValueError, match="not a valid delivery name"):
        checked_delivery(feature)
    bus, _ = _commit_case(tmp_path, {"name": "names", "files": {"deploy/app.yaml": "x: 1\n"}})
    result = CliRunner().invoke(
        main,
        [
            "publish", "--repo", str(bus.bare), "--env", "staging", "--feature", feature,
            "--from", str(bus.work / "deploy"),
        ],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--feature" in result.output
