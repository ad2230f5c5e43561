"""`orchestrator validate` reads a checkout as the agent reads a commit; says each thing once."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from orchestrator.cli import main

FIXTURES = Path(__file__).with_name("fixtures")


def validate(path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(main, ["validate", str(path), *args, "-o", "json"])
    return result.exit_code, json.loads(result.stdout), result.output


@pytest.fixture(autouse=True)
def _no_agent_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORCHESTRATOR_CONFIG", raising=False)


def test_a_problem_of_a_shared_path_is_reported_once_naming_its_environments() -> None:
    code, report, _ = validate(FIXTURES / "shared-path")
    assert code == 3
    broken = [p for p in report["problems"] if "manifests/broken.yaml" in p]
    assert len(broken) == 1, report["problems"]
    assert broken[0].startswith("staging, production: manifests/broken.yaml")


def test_allow_problems_are_reported_next_to_load_errors() -> None:
    code, report, _ = validate(FIXTURES / "shared-path", "--env", "staging")
    assert code == 3
    problems = report["problems"]
    assert any("manifests/broken.yaml" in p for p in problems), problems
    assert (
        "staging: manifests/secret.yaml: Secret/kube-system/s: namespace kube-system "
        "is not allowed" in problems
    )


def test_without_agent_settings_the_policys_own_allow_is_checked() -> None:
    code, report, out = validate(FIXTURES / "cluster-scoped")
    assert code == 0, out
    assert report["objects"] == {"staging": 1}


def test_with_agent_settings_the_ceiling_is_checked() -> None:
    checkout = FIXTURES / "cluster-scoped"
    code, report, _ = validate(checkout, "--config", str(checkout / "agent.yaml"))
    assert code == 3
    assert any(
        "environments.staging.allow.clusterScoped: the agent's ceiling" in p
        for p in report["problems"]
    ), report["problems"]


def test_the_agent_settings_can_come_from_its_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checkout = FIXTURES / "cluster-scoped"
    monkeypatch.setenv("ORCHESTRATOR_CONFIG", str(checkout / "agent.yaml"))
    code, _, _ = validate(checkout)
    assert code == 3


def test_files_outside_the_policy_and_the_paths_are_never_read(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(FIXTURES / "valid", checkout)
    (tmp_path / "secret.txt").write_text("TOP-SECRET\n")
    (checkout / "docs").mkdir()
    os.symlink(tmp_path / "secret.txt", checkout / "docs" / "link.yaml")
    os.mkfifo(checkout / "docs" / "pipe")  # reading it would block the test
    (checkout / "broken.yaml").write_text("{not: yaml")
    opened: list[str] = []
    _OPENED.append(opened)
    try:
        code, report, out = validate(checkout)
    finally:
        _OPENED.remove(opened)
    assert code == 0, out
    assert report["objects"] == {"staging": 1, "production": 1}
    read = {Path(p).relative_to(checkout).parts[0] for p in opened if p.startswith(f"{checkout}/")}
    assert read == {".orchestrator", "manifests"}


_OPENED: list[list[str]] = []  # lists the audit hook fills while a test listens


def _record_opens(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _OPENED and isinstance(args[0], str | Path):
        _OPENED[-1].append(str(args[0]))


sys.addaudithook(_record_opens)  # every open of a file, by io or os, in this process


def test_a_symlink_under_a_path_is_a_problem_that_never_shows_its_target(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(FIXTURES / "valid", checkout)
    (tmp_path / "secret.yaml").write_text("TOP-SECRET: 1\n")
    os.symlink(tmp_path / "secret.yaml", checkout / "manifests" / "extra.yaml")
    code, report, out = validate(checkout)
    assert code == 3
    assert report["problems"] == ["staging, production: manifests/extra.yaml is a symlink"]
    assert "TOP-SECRET" not in out


def test_a_missing_policy_is_one_problem(tmp_path: Path) -> None:
    code, report, _ = validate(tmp_path)
    assert code == 3
    expected = f".orchestrator/policy.yaml: invalid policy: missing at {tmp_path}"
    assert report["problems"] == [expected]


def test_with_agent_settings_a_policys_signers_must_be_among_the_agents(tmp_path: Path) -> None:
    checkout = FIXTURES / "signers"
    settings = tmp_path / "agent.yaml"
    settings.write_text(
        "git: {url: /nonexistent/deliveries.git}\nagent: {environment: staging}\n"
        f"trust: {{allowed_signers_file: {checkout / 'allowed_signers'}}}\n"
    )
    assert validate(checkout)[0] == 0  # no agent settings: nothing to choose among
    code, report, _ = validate(checkout, "--config", str(settings))
    assert code == 3
    assert any(
        "environments.staging.trust.signers[0]: 'release@example.com' is not among the signers" in p
        for p in report["problems"]
    ), report["problems"]


def test_an_agents_settings_file_works_away_from_its_mounted_secrets() -> None:
    """The example staging agent's file names credentials only its pod has; validate
    still checks its ceiling, and says the signers could not be checked."""
    config = Path(__file__).resolve().parents[3] / "config" / "staging-agent.yaml"
    code, report, out = validate(FIXTURES / "valid", "--config", str(config))
    assert code == 3
    assert report["problems"] == [
        "staging: .orchestrator/policy.yaml: invalid policy: environments.staging.allow"
        ".namespaces[0]: 'app' is outside the agent's ceiling (trust.ceiling.namespaces: shop)"
    ]
    assert "trust.signers is not checked" in out
