"""One delivery's own promotion commit, and a snapshot's, against a real bare repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import MergeConflict
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.promote.planning.request import PromotionRequest
from orchestrator.promote.write.promotion import promote, promote_change
from tests.support.workrepo import WorkRepo, git

AGENT = Identity(name="orchestrator", email="staging@orchestrator.test")


@pytest.fixture
def bus(tmp_path: Path) -> WorkRepo:
    repo = WorkRepo(tmp_path)
    base = {"manifests/app.yaml": "kind: ConfigMap # v0\n"}
    repo.commit("production", {".orchestrator/policy.yaml": "prod\n", **base}, message="base")
    repo.commit("staging", {".orchestrator/policy.yaml": "staging\n", **base}, message="base")
    return repo


def _deliver(bus: WorkRepo, feature: str, files: dict[str, str | None]) -> str:
    return bus.commit("staging", files, message=f"{feature}\n\nDelivery: {feature}")


def _request(bus: WorkRepo, feature: str, **extra: object) -> PromotionRequest:
    return PromotionRequest(
        source_env="staging",
        source_commit=bus.tip("staging"),
        feature=feature,
        target_env="production",
        mode="pr",
        paths=("manifests",),
        health="Healthy (2/2)",
        verified_by="staging-agent",
        **extra,  # type: ignore[arg-type]
    )


def _files(bus: WorkRepo, rev: str) -> set[str]:
    return set(git("ls-tree", "-r", "--name-only", rev, cwd=bus.bare).split())


def test_each_delivery_carries_only_its_own_change(bus: WorkRepo, tmp_path: Path) -> None:
    a = _deliver(bus, "feature-a", {"manifests/a.yaml": "a\n"})
    b = _deliver(bus, "feature-b", {"manifests/b.yaml": "b\n", "manifests/app.yaml": "v1\n"})
    cache = CacheRepo.open(tmp_path / "cache", remote_url=str(bus.bare))
    cache.fetch(["refs/heads/staging", "refs/heads/production"])
    parents = {sha: cache.commit_info(sha).parents[0] for sha in (a, b)}

    for feature, sha in (("feature-a", a), ("feature-b", b)):
        result = promote_change(
            cache, _request(bus, feature), base=parents[sha], head=sha, author=AGENT
        )
        assert result.pushed
    tip_a, tip_b = bus.tip("pr/production/feature-a"), bus.tip("pr/production/feature-b")
    assert _files(bus, tip_a) == {
        ".orchestrator/policy.yaml",
        "manifests/app.yaml",
        "manifests/a.yaml",
    }
    assert _files(bus, tip_b) == {
        ".orchestrator/policy.yaml",
        "manifests/app.yaml",
        "manifests/b.yaml",
    }
    assert bus.show(tip_b, "manifests/app.yaml") == "v1"
    assert bus.show(tip_b, ".orchestrator/policy.yaml") == "prod"
    assert bus.trailers(tip_a)[:1] == [("Delivery", "feature-a")]
    assert ("Promoted-From", f"staging@{b}") in bus.trailers(tip_a)

    # Replayed (a crash before the note): the same tree, so nothing is pushed.
    again = promote_change(cache, _request(bus, "feature-a"), base=parents[a], head=a, author=AGENT)
    assert (again.pushed, again.commit) == (False, tip_a)
    assert bus.tip("pr/production/feature-a") == tip_a


def test_a_change_that_does_not_apply_raises_with_its_paths(bus: WorkRepo, tmp_path: Path) -> None:
    bus.commit("production", {"manifests/app.yaml": "production hotfix\n"}, message="hotfix")
    b = _deliver(bus, "feature-b", {"manifests/app.yaml": "v1\n"})
    cache = CacheRepo.open(tmp_path / "cache", remote_url=str(bus.bare))
    cache.fetch(["refs/heads/staging"])
    with pytest.raises(MergeConflict) as raised:
        promote_change(
            cache,
            _request(bus, "feature-b"),
            base=cache.commit_info(b).parents[0],
            head=b,
            author=AGENT,
        )
    assert raised.value.paths == ("manifests/app.yaml",)
    assert not bus.has_remote_branch("pr/production/feature-b")


def test_a_snapshot_names_every_delivery_it_carries(bus: WorkRepo, tmp_path: Path) -> None:
    _deliver(bus, "feature-a", {"manifests/a.yaml": "a\n"})
    _deliver(bus, "feature-b", {"manifests/b.yaml": "b\n"})
    cache = CacheRepo.open(tmp_path / "cache", remote_url=str(bus.bare))
    request = _request(bus, "feature-b", carries=("feature-a", "feature-b"))
    result = promote(cache, request, author=AGENT)
    assert result.pushed
    trailers = bus.trailers(bus.tip("pr/production/feature-b"))
    assert trailers[:2] == [("Delivery", "feature-a"), ("Delivery", "feature-b")]
    assert {"manifests/a.yaml", "manifests/b.yaml"} <= _files(
        bus, bus.tip("pr/production/feature-b")
    )
