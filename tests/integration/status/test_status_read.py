"""The pipeline read model against a real bare repository written like agents and people do."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.gitbus.repo import CacheRepo
from orchestrator.status.model import Origin, PipelineView
from orchestrator.status.read import read_pipeline
from tests.support.pipeline_bus import PipelineBus, build_bus, fail_production
from tests.support.workrepo import WorkRepo

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def bus(tmp_path_factory: pytest.TempPathFactory) -> PipelineBus:
    """Built once: most tests only read it."""
    return build_bus(tmp_path_factory.mktemp("pipeline-bus"), now=NOW)


@pytest.fixture
def own_bus(bus: PipelineBus, tmp_path: Path) -> PipelineBus:
    """A private copy for a test that changes the bus."""
    return bus.copy(tmp_path / "bus")


def _read(bus: PipelineBus, **kwargs: object) -> PipelineView:
    return read_pipeline(bus.cache("reader"), now=NOW, **kwargs)  # type: ignore[arg-type]


def test_environments_follow_the_promotion_chain_and_skip_plain_branches(bus: PipelineBus) -> None:
    view = _read(bus)
    assert [e.name for e in view.environments] == ["staging", "production"]
    assert view.order == "policy"
    assert view.warnings == ()
    assert view.environment("staging").promotes_to == ("production",)
    assert view.environment("production").promotes_to == ()
    with pytest.raises(KeyError):
        view.environment("main")


def test_each_environment_shows_its_tip_and_older_revisions_with_notes(bus: PipelineBus) -> None:
    view = _read(bus)
    staging = view.environment("staging")
    assert staging.tip == bus.s2
    assert [(d.revision, d.delivery, d.phase, d.current) for d in staging.deliveries] == [
        (bus.s2, "feature-b", "Promoted", True),
        (bus.s1, "feature-a", "Promoted", False),
    ]
    current = staging.current
    assert current is not None
    assert current.status == "healthy"
    assert current.health == "Healthy (3/3)"
    assert current.agent == "agent-staging"
    assert current.entries == 2
    assert current.age_seconds == 9 * 60  # since the latest entry
    assert current.updated_at == "2025-03-01T11:51:00Z"

    production = view.environment("production")
    # The baseline has no note and is not the tip: left out.
    assert [(d.revision, d.phase) for d in production.deliveries] == [(bus.p1, "Healthy")]
    landed = production.deliveries[0]
    assert landed.delivery == "feature-a"
    assert landed.promoted_from == Origin("staging", bus.s1)  # read through the merge commit
    assert landed.source_commit is not None


def test_promotions_link_to_where_they_landed_or_wait(bus: PipelineBus) -> None:
    view = _read(bus)
    staging = {d.delivery: d for d in view.environment("staging").deliveries}
    (to_a,) = staging["feature-a"].promotions
    assert (to_a.target, to_a.ref, to_a.commit, to_a.pushed) == (
        "production",
        "refs/heads/pr/production/feature-a",
        bus.promo_a,
        True,
    )
    assert (to_a.state, to_a.landed) == ("delivered", bus.p1)
    (to_b,) = staging["feature-b"].promotions
    assert (to_b.state, to_b.landed, to_b.commit) == ("waiting", None, bus.promo_b)


def test_candidates_waiting_for_a_merge(bus: PipelineBus) -> None:
    view = _read(bus)
    (c,) = view.environment("staging").candidates
    assert (c.delivery, c.ref, c.revision, c.promoted_from) == (
        "feature-c",
        "refs/heads/pr/staging/feature-c",
        bus.cand_c,
        None,
    )
    (p,) = view.environment("production").candidates
    assert (p.delivery, p.ref, p.revision) == (
        "feature-b",
        "refs/heads/pr/production/feature-b",
        bus.promo_b,
    )
    assert p.promoted_from == Origin("staging", bus.s2)


def test_a_new_note_changes_the_latest_phase(own_bus: PipelineBus) -> None:
    fail_production(own_bus, minutes_ago=2)
    current = _read(own_bus).environment("production").current
    assert current is not None
    assert (current.phase, current.status, current.stage) == (
        "Failed",
        "failed",
        "HealthCheckFailed",
    )
    assert current.message == "Deployment/web/api: 0/3 replicas available"
    assert current.entries == 2
    assert current.age_seconds == 120


def test_a_merged_candidate_becomes_the_pending_tip(own_bus: PipelineBus) -> None:
    merged = own_bus.work.merge("pr/staging/feature-c", into="staging")
    staging = _read(own_bus).environment("staging")
    assert staging.candidates == ()  # merged: no longer waiting, though the branch is kept
    current = staging.current
    assert current is not None
    assert (current.revision, current.delivery, current.phase, current.status) == (
        merged,
        "feature-c",
        None,
        "progressing",
    )
    assert current.to_json()["phase"] is None


def test_given_environments_keep_their_order_and_name_missing_branches(bus: PipelineBus) -> None:
    view = _read(bus, environments=["production", "qa"])
    assert [e.name for e in view.environments] == ["production", "qa"]
    assert view.order == "given"
    qa = view.environment("qa")
    assert (qa.tip, qa.deliveries, qa.candidates) == (None, (), ())
    assert view.warnings == ("qa: no branch refs/heads/qa on the remote",)
    with pytest.raises(ValueError, match="invalid environment name"):
        _read(bus, environments=["Not An Env"])


def test_a_broken_policy_falls_back_to_alphabetical_order(own_bus: PipelineBus) -> None:
    for env in ("staging", "production"):
        own_bus.work.commit(env, {".orchestrator/policy.yaml": "kind: [broken\n"}, message="oops")
    view = _read(own_bus)
    assert [e.name for e in view.environments] == ["production", "staging"]
    assert view.order == "alphabetical"
    assert len(view.warnings) == 2
    assert all("policy ignored for ordering" in w for w in view.warnings)


def test_fan_out_chains_order_by_distance_from_the_start(tmp_path: Path) -> None:
    work = WorkRepo(tmp_path)
    policy = """\
apiVersion: orchestrator.dev/v1alpha1
kind: PromotionPolicy
environments:
  dev: {promotion: {to: [staging]}}
  staging: {promotion: {to: [prod-us, prod-eu]}}
  prod-eu: {}
  prod-us: {}
"""
    for env in ("prod-us", "staging", "dev", "prod-eu"):
        work.commit(env, {".orchestrator/policy.yaml": policy}, message=f"{env} policy")
    work.commit("main", {"README": "x\n"}, message="not an environment")
    cache = CacheRepo.open(tmp_path / "cache", remote_url=str(work.bare))
    view = read_pipeline(cache, now=NOW)
    assert [e.name for e in view.environments] == ["dev", "staging", "prod-eu", "prod-us"]
    assert view.environment("staging").promotes_to == ("prod-us", "prod-eu")
    assert all(e.deliveries[0].phase is None for e in view.environments)  # no agent yet


def test_one_listing_of_the_remote_per_read(
    bus: PipelineBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = bus.cache("reader")
    calls: list[str] = []
    original = CacheRepo.list_remote

    def counting(self: CacheRepo) -> dict[str, str]:
        calls.append("list")
        return original(self)

    monkeypatch.setattr(CacheRepo, "list_remote", counting)
    read_pipeline(cache, now=NOW)
    read_pipeline(cache, now=NOW)
    assert calls == ["list", "list"]


def test_json_is_stable_and_complete(bus: PipelineBus) -> None:
    first = json.dumps(_read(bus).to_json(), sort_keys=True)
    again = json.dumps(_read(bus).to_json(), sort_keys=True)
    assert first == again
    doc = json.loads(first)
    assert doc["schema"] == "orchestrator.pipeline/v1"
    assert doc["generated_at"] == "2025-03-01T12:00:00Z"
    staging = doc["environments"][0]
    assert staging["deliveries"][0]["promotions"][0]["state"] == "waiting"
    assert staging["deliveries"][0]["short"] == bus.s2[:7]
