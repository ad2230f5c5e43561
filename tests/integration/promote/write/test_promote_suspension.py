"""The suspension record on a real bare repository: written, read back, idempotent, audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.promote.write.suspension import read_suspension, set_suspended
from orchestrator.status.read import read_pipeline
from tests.support.workrepo import WorkRepo, git

ALICE = Identity(name="Alice", email="alice@example.com")
BOB = Identity(name="Bob", email="bob@example.com")


@pytest.fixture
def bus(tmp_path: Path) -> WorkRepo:
    (tmp_path / "bus").mkdir()
    repo = WorkRepo(tmp_path / "bus")
    repo.commit(
        "staging", {".orchestrator/policy.yaml": "environments: {staging: {}}\n"}, message="x"
    )
    return repo


def _cache(bus: WorkRepo, path: Path) -> CacheRepo:
    return CacheRepo.open(path, remote_url=str(bus.bare))


def test_suspend_and_resume_are_commits_every_clone_reads(bus: WorkRepo, tmp_path: Path) -> None:
    writer, reader = _cache(bus, tmp_path / "w"), _cache(bus, tmp_path / "r")
    assert read_suspension(reader, environment="staging") is None

    first = set_suspended(
        writer, environment="staging", suspend=True, author=ALICE, reason="incident\n42"
    )
    assert first.pushed
    held = read_suspension(reader, environment="staging")
    assert held is not None
    assert (held.by, held.reason, held.commit) == (
        "Alice <alice@example.com>",
        "incident 42",
        first.commit,
    )
    record = json.loads(git("show", f"control/staging:{protocol.SUSPENDED_FILE}", cwd=bus.bare))
    assert record["reason"] == "incident 42"

    # The same state again writes nothing, whoever asks.
    again = set_suspended(writer, environment="staging", suspend=True, author=BOB, reason="other")
    assert not again.pushed
    assert again.commit == first.commit

    resumed = set_suspended(reader, environment="staging", suspend=False, author=BOB)
    assert resumed.pushed
    assert read_suspension(writer, environment="staging") is None
    assert not set_suspended(writer, environment="staging", suspend=False, author=BOB).pushed

    log = git(
        "log",
        "--format=%an|%s|%(trailers:key=Suspended,valueonly)",
        "control/staging",
        cwd=bus.bare,
    )
    assert [line for line in log.splitlines() if line] == [
        "Bob|Resume staging|false",
        "Alice|Suspend staging|true",
    ]


def test_resuming_what_was_never_suspended_creates_nothing(bus: WorkRepo, tmp_path: Path) -> None:
    result = set_suspended(
        _cache(bus, tmp_path / "w"), environment="staging", suspend=False, author=BOB
    )
    assert not result.pushed
    assert not bus.has_remote_branch("control/staging")


def test_the_pipeline_view_shows_the_suspension_and_no_extra_environment(
    bus: WorkRepo, tmp_path: Path
) -> None:
    repo = _cache(bus, tmp_path / "w")
    set_suspended(repo, environment="staging", suspend=True, author=ALICE, reason="freeze")
    view = read_pipeline(_cache(bus, tmp_path / "r"))
    assert [e.name for e in view.environments] == ["staging"]
    suspended = view.environment("staging").suspended
    assert suspended is not None
    assert suspended.reason == "freeze"
    assert view.to_json()["environments"][0]["suspended"]["by"] == "Alice <alice@example.com>"
