"""Promotion commits against a real bare repository: content, trailers, idempotence."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.errors import PromotionSuperseded
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.promote.planning.request import PromotionRequest
from orchestrator.promote.write.promotion import promote
from tests.support.workrepo import WorkRepo

AGENT = Identity(name="orchestrator", email="staging@orchestrator.test")


@pytest.fixture
def bus(tmp_path: Path) -> WorkRepo:
    repo = WorkRepo(tmp_path)
    repo.commit(
        "production",
        {
            ".orchestrator/policy.yaml": "production policy\n",
            "manifests/app.yaml": "kind: ConfigMap # v0\n",
            "manifests/old.yaml": "kind: ConfigMap # removed upstream\n",
        },
        message="production baseline",
    )
    repo.commit(
        "staging",
        {
            ".orchestrator/policy.yaml": "staging policy\n",
            "manifests/app.yaml": "kind: ConfigMap # v1\n",
            "manifests/sub/new.yaml": "kind: Service\n",
            "notes.txt": "not promoted\n",
        },
        message="staging baseline",
    )
    return repo


def _request(bus: WorkRepo, *, mode: str = "pr") -> PromotionRequest:
    return PromotionRequest(
        source_env="staging",
        source_commit=bus.tip("staging"),
        feature="feature-a",
        target_env="production",
        mode=mode,  # type: ignore[arg-type]
        paths=("manifests",),
        health="Healthy (2/2)",
        verified_by="staging-agent",
    )


def test_pr_promotion_carries_only_the_promoted_paths(bus: WorkRepo, tmp_path: Path) -> None:
    cache = CacheRepo.open(tmp_path / "cache", remote_url=str(bus.bare))
    result = promote(cache, _request(bus), author=AGENT)
    assert result.pushed
    assert result.target_ref == "refs/heads/pr/production/feature-a"
    tip = bus.tip("pr/production/feature-a")
    assert tip == result.commit
    assert bus.log("pr/production/feature-a")[1] == bus.tip("production")
    assert bus.show(tip, "manifests/app.yaml") == "kind: ConfigMap # v1"
    assert bus.show(tip, "manifests/sub/new.yaml") == "kind: Service"
    assert bus.show(tip, ".orchestrator/policy.yaml") == "production policy"
    with pytest.raises(AssertionError):
        bus.show(tip, "manifests/old.yaml")
    with pytest.raises(AssertionError):
        bus.show(tip, "notes.txt")
    assert bus.trailers(tip) == [
        ("Delivery", "feature-a"),
        ("Promoted-From", f"staging@{bus.tip('staging')}"),
        ("Verified-By", "staging-agent"),
        ("Health", "Healthy (2/2)"),
    ]


def test_replaying_a_promotion_never_makes_a_second_commit(bus: WorkRepo, tmp_path: Path) -> None:
    cache = CacheRepo.open(tmp_path / "cache", remote_url=str(bus.bare))
    first = promote(cache, _request(bus), author=AGENT)
    again = promote(cache, _request(bus), author=AGENT)
    assert first.pushed
    assert not again.pushed
    assert bus.tip("pr/production/feature-a") == first.commit

    # Merged and the branch deleted, as a pull request host does: still nothing new.
    bus.merge("pr/production/feature-a", into="production")
    bus.delete_branch("pr/production/feature-a")
    fresh = CacheRepo.open(tmp_path / "cache2", remote_url=str(bus.bare))
    after_merge = promote(fresh, _request(bus), author=AGENT)
    assert not after_merge.pushed
    assert not bus.has_remote_branch("pr/production/feature-a")


def test_auto_mode_pushes_straight_to_the_environment(bus: WorkRepo, tmp_path: Path) -> None:
    before = bus.tip("production")
    cache = CacheRepo.open(tmp_path / "cache", remote_url=str(bus.bare))
    result = promote(cache, _request(bus, mode="auto"), author=AGENT)
    assert result.pushed
    assert result.target_ref == "refs/heads/production"
    assert bus.log("production")[:2] == [result.commit, before]


def test_promotion_races_a_maintainer_and_still_lands_once(bus: WorkRepo, tmp_path: Path) -> None:
    """A push that lands between our fetch and our push makes us rebuild on the new tip."""
    cache = CacheRepo.open(tmp_path / "cache", remote_url=str(bus.bare))
    cache.refresh("refs/heads/production")
    bus.commit("production", {"README": "someone else\n"}, message="concurrent change")
    result = promote(cache, _request(bus, mode="auto"), author=AGENT)
    assert result.pushed
    log = bus.log("production")
    assert log[0] == result.commit
    assert bus.show(result.commit or "", "README") == "someone else"


def _promote_as(cache: CacheRepo, bus: WorkRepo, *, feature: str, source: str) -> str | None:
    request = replace(_request(bus), feature=feature, source_commit=source)
    return promote(cache, request, author=AGENT).commit


def test_an_older_revision_is_refused_once_a_newer_ones_promotion_was_merged(
    bus: WorkRepo, tmp_path: Path
) -> None:
    cache = CacheRepo.open(tmp_path / "cache", remote_url=str(bus.bare))
    older = bus.tip("staging")
    newer = bus.commit("staging", {"manifests/app.yaml": "kind: ConfigMap # v2\n"}, message="v2")
    _promote_as(cache, bus, feature="feature-b", source=newer)
    merged = bus.merge("pr/production/feature-b", into="production")

    with pytest.raises(PromotionSuperseded) as refused:
        _promote_as(cache, bus, feature="feature-a", source=older)

    assert refused.value.newer == newer
    assert f"staging@{newer[:12]}" in str(refused.value)
    assert not bus.has_remote_branch("pr/production/feature-a")
    assert bus.tip("production") == merged


def test_a_newer_revision_still_promotes_over_an_older_ones_promotion(
    bus: WorkRepo, tmp_path: Path
) -> None:
    cache = CacheRepo.open(tmp_path / "cache", remote_url=str(bus.bare))
    _promote_as(cache, bus, feature="feature-a", source=bus.tip("staging"))
    bus.merge("pr/production/feature-a", into="production")
    newer = bus.commit("staging", {"manifests/app.yaml": "kind: ConfigMap # v2\n"}, message="v2")

    commit = _promote_as(cache, bus, feature="feature-b", source=newer)

    assert commit == bus.tip("pr/production/feature-b")
    assert bus.show(commit, "manifests/app.yaml") == "kind: ConfigMap # v2"
