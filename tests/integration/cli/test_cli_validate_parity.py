"""Every refusal of the agent's loader is a refusal of `validate` (and of `publish`), with the
same reason: one table of inputs (fixtures/refusals.yaml), each committed to a real bare
repository and read back through the agent's reading path, and checked out for the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.errors import (
    ManifestErrors,
    ObjectsNotAllowed,
    OrchestratorError,
)
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.promote.admission import admission_refusals
from orchestrator.promote.allowance import effective_allowance
from orchestrator.promote.source import checked_delivery, environment_policy_at, manifests_at
from orchestrator.settings import CeilingSettings
from tests.support.workrepo import WorkRepo, git

TABLE = yaml.safe_load((Path(__file__).with_name("fixtures") / "refusals.yaml").read_text())
CASES = {case["name"]: case for case in TABLE["cases"]}
SECRET = "TOP-SECRET"


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


def _agent_refusals(cache: CacheRepo, revision: str, ceiling: CeilingSettings) -> list[str]:
    """What the agent's admission (reconcile's `_admit`, less signatures) refuses, and why."""
    try:
        policy = environment_policy_at(cache, revision, environment="staging")
        allowance = effective_allowance(policy.allow, ceiling, environment="staging")
        manifests = manifests_at(cache, revision, environment="staging", policy=policy, params={})
        refusals = admission_refusals(
            manifests,
            runs=policy.verification,
            allow=allowance,
            secret_reads=allowance.secret_reads,
        )
        if refusals:
            raise ObjectsNotAllowed(refusals)
    except ManifestErrors as exc:
        return [str(e) for e in exc.errors]
    except ObjectsNotAllowed as exc:
        return list(exc.refusals)
    except OrchestratorError as exc:
        return [str(exc).removeprefix(f"{cache.remote}: ")]
    return []


def _settings_file(root: Path, bus: WorkRepo, ceiling: dict[str, Any]) -> Path:
    path = root / "agent.yaml"
    settings = {
        "git": {"url": str(bus.bare), "cache_dir": str(root / "agent-cache")},
        "agent": {"environment": "staging"},
        "trust": {"ceiling": ceiling},
    }
    path.write_text(yaml.safe_dump(settings))
    return path


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_refuses_what_the_agent_refuses(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ORCHESTRATOR_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    case = CASES[name]
    bus, revision = _commit_case(tmp_path, case)
    cache = CacheRepo.open(tmp_path / "cache", remote_url=str(bus.bare))
    cache.refresh("refs/heads/staging")

    agent = _agent_refusals(cache, revision, CeilingSettings(**case.get("ceiling", {})))
    assert any(case["reason"] in reason for reason in agent), agent

    config = _settings_file(tmp_path, bus, case.get("ceiling", {}))
    result = CliRunner().invoke(
        main, ["validate", str(bus.work), "--config", str(config), "-o", "json"]
    )
    assert result.exit_code == 3, result.output
    problems = json.loads(result.stdout)["problems"]
    for reason in agent:
        shown = reason.replace(revision[:12], str(bus.work))  # the revision's label
        assert any(shown in problem for problem in problems), (shown, problems)
    assert SECRET not in result.output  # a link's target is never read, never echoed


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "publish" in c))
def test_publish_refuses_it_before_anything_is_pushed(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    case = CASES[name]
    bus, _ = _commit_case(tmp_path, case)
    directory = case["publish"]
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
