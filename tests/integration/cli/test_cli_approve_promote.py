"""`approve` and `promote` against a real bare repository, through the real command line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.signing import SshVerifier
from orchestrator.record import Phase, Report
from tests.prerequisites import require_command
from tests.support.workrepo import WorkRepo

POLICY = """apiVersion: orchestrator.dev/v1alpha1
kind: PromotionPolicy
environments:
  staging: {promotion: {to: [production]}}
  production: {}
"""


@pytest.fixture
def bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WorkRepo:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    repo = WorkRepo(tmp_path)
    for env in ("production", "staging"):
        repo.commit(
            env, {".orchestrator/policy.yaml": POLICY, "manifests/app.yaml": "v0\n"}, message=env
        )
    return repo


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_approve_merges_the_candidate_and_is_idempotent(bus: WorkRepo) -> None:
    candidate = bus.commit(
        "pr/staging/feature-a", {"manifests/app.yaml": "v1\n"}, message="feature-a", base="staging"
    )
    before = bus.tip("staging")
    code, out = run(
        "approve",
        "--repo",
        str(bus.bare),
        "--env",
        "staging",
        "--feature",
        "feature-a",
        "-o",
        "json",
    )
    assert code == 0, out
    merged = json.loads(out)
    assert merged["merged"] is True
    tip = bus.tip("staging")
    assert merged["commit"] == tip
    assert bus.log("staging")[:1] == [tip]
    parents = bus.git_parents(tip)
    assert parents == [before, candidate]
    assert bus.show(tip, "manifests/app.yaml") == "v1"

    code, out = run(
        "approve", "--repo", str(bus.bare), "--env", "staging", "--feature", "feature-a"
    )
    assert code == 0
    assert "already merged" in out
    assert bus.tip("staging") == tip


def test_approve_signs_its_merge_with_the_configured_key(
    bus: WorkRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An environment that trusts only signed commits can be approved into from the CLI."""
    key = tmp_path / "approver"
    subprocess.run(
        [require_command("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
        check=True,
    )
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"approver@example.com {key.with_suffix('.pub').read_text()}")
    bus.commit(
        "pr/staging/feature-a", {"manifests/app.yaml": "v1\n"}, message="feature-a", base="staging"
    )
    monkeypatch.setenv("ORCHESTRATOR_GIT__SIGNING_KEY_FILE", str(key))

    code, out = run(
        "approve", "--repo", str(bus.bare), "--env", "staging", "--feature", "feature-a"
    )

    assert code == 0, out
    tip = bus.tip("staging")
    assert len(bus.git_parents(tip)) == 2
    reader = CacheRepo.open(tmp_path / "reader", remote_url=str(bus.bare))
    reader.refresh("refs/heads/staging")
    verified = reader.verify_commit(tip, verifier=SshVerifier(allowed_signers=allowed))
    assert verified.signer == "approver@example.com"
    checked = subprocess.run(
        ["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", tip],
        cwd=bus.bare,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_approve_reports_a_conflict_in_one_line(bus: WorkRepo) -> None:
    bus.commit(
        "pr/staging/feature-a", {"manifests/app.yaml": "mine\n"}, message="a", base="staging"
    )
    bus.commit("staging", {"manifests/app.yaml": "theirs\n"}, message="someone else")
    code, out = run(
        "approve", "--repo", str(bus.bare), "--env", "staging", "--feature", "feature-a"
    )
    assert code == 1
    assert out.startswith("error: ")
    assert "conflicts in: manifests/app.yaml" in out
    assert "Traceback" not in out


def test_missing_candidate_is_a_clear_error(bus: WorkRepo) -> None:
    code, out = run("approve", "--repo", str(bus.bare), "--env", "staging", "--feature", "nope")
    assert code == 1
    assert "pr/staging/nope does not exist" in out


def test_promote_refuses_an_unverified_revision_and_promotes_a_verified_one(
    bus: WorkRepo, tmp_path: Path
) -> None:
    tip = bus.commit("staging", {"manifests/app.yaml": "v2\n"}, message="v2")
    code, out = run("promote", "--repo", str(bus.bare), "--from", "staging", "--to", "production")
    assert code == 1
    assert "is not verified (its note says nothing)" in out

    agent = CacheRepo.open(tmp_path / "agent-cache", remote_url=str(bus.bare))
    report = Report(
        environment="staging", revision=tip, agent="staging-agent", delivery="feature-z"
    )
    report.health = "Healthy (1/1)"
    agent.add_note(
        env="staging",
        commit=tip,
        entries=[report.entry(Phase.HEALTHY)],
        author=Identity("a", "a@b.c"),
    )
    code, out = run(
        "promote", "--repo", str(bus.bare), "--from", "staging", "--to", "production", "-o", "json"
    )
    assert code == 0, out
    result = json.loads(out)
    assert result["ref"] == "refs/heads/pr/production/feature-z"
    assert result["pushed"] is True
    assert bus.show(result["commit"], "manifests/app.yaml") == "v2"
    trailers = dict(bus.trailers(result["commit"]))
    assert trailers["Promoted-From"] == f"staging@{tip}"
    assert trailers["Verified-By"] == "staging-agent"
    assert trailers["Health"] == "Healthy (1/1)"
