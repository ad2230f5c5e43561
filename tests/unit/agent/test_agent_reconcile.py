"""The reconciler over in-memory ports: what it writes to the bus and pushes, case by case.

Each test builds a branch of plain commits, reconciles a revision and reads the
notes and pushes back; no repository, no API server (the integration tests run
the same reconciler over both).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.agent.reconcile import Reconciler
from orchestrator.errors import LeadershipLost
from orchestrator.record import Entry, Phase, Stage
from orchestrator.settings import Settings
from tests.support.memory_ports import MemoryCluster, MemoryGit, Push, policy, settings, sha

NINE = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
PROMOTING = {"promotion": {"to": ["production"]}}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _reconciler(git: MemoryGit, cluster: MemoryCluster, *, now: datetime = NINE) -> Reconciler:
    return Reconciler(
        settings=Settings.model_validate(settings(drift_retries=0)),
        git=git,
        cluster=cluster,
        now=Clock(now),
    )


def _branch(git: MemoryGit, *features: str, **raw: object) -> list[str]:
    env_policy = policy(**{**PROMOTING, **raw})
    return [git.commit(n, feature=f, policy=env_policy) for n, f in enumerate(features, start=1)]


def _last(git: MemoryGit, revision: str) -> Entry:
    return git.entries(revision)[-1]


def test_a_carried_commit_is_superseded_and_every_delivery_is_promoted() -> None:
    git, cluster = MemoryGit(), MemoryCluster()
    first, second = _branch(git, "feature-a", "feature-b")
    outcome = _reconciler(git, cluster).reconcile(second)
    assert outcome.phase is Phase.PROMOTED
    carried = git.entries(first)
    assert [e.phase for e in carried] == [Phase.SUPERSEDED, Phase.PROMOTED]
    assert carried[0].verified_on == second
    assert [(p.target, p.feature, p.source_commit) for p in git.pushes] == [
        ("production", "feature-a", second),
        ("production", "feature-b", second),
    ]


def test_a_target_holding_a_newer_promotion_supersedes_the_revision() -> None:
    git, cluster = MemoryGit(newer_on={"production": sha(77)}), MemoryCluster()
    (only,) = _branch(git, "feature-a")
    outcome = _reconciler(git, cluster).reconcile(only)
    assert outcome.phase is Phase.SUPERSEDED
    assert outcome.promotions == [("production", "superseded")]
    superseded = _last(git, only)
    assert superseded.phase == Phase.SUPERSEDED
    assert superseded.superseded_by == sha(77)
    assert git.pushes == []


def test_a_failed_push_to_one_target_keeps_the_other_and_is_retried_alone() -> None:
    git, cluster = MemoryGit(failing_targets={"qa"}), MemoryCluster()
    (only,) = _branch(git, "feature-a", promotion={"to": ["production", "qa"]})
    outcome = _reconciler(git, cluster).reconcile(only)
    assert (outcome.phase, outcome.stage) == (Phase.HEALTHY, Stage.PROMOTION)
    assert outcome.promotions == [("production", "promoted"), ("qa", "failed")]
    assert git.phases(only) == [Phase.HEALTHY, Phase.PROMOTED, Phase.FAILED]
    assert [p.target for p in git.entries(only)[1].promotions] == ["production"]

    git.failing_targets.clear()
    again = _reconciler(git, cluster).reconcile(only)
    assert again.phase is Phase.PROMOTED
    assert again.promotions == [("qa", "promoted")]
    assert [p.target for p in git.pushes] == ["production", "qa"]


def test_a_closed_window_waits_once_and_promotes_when_it_opens() -> None:
    window = {"windows": [{"schedule": "0 9 * * *", "duration": "1h"}]}
    git, cluster = MemoryGit(), MemoryCluster()
    (only,) = _branch(git, "feature-a", gates=window)
    eight = NINE.replace(hour=8)
    outcome = _reconciler(git, cluster, now=eight).reconcile(only)
    assert outcome.phase is Phase.WAITING
    assert outcome.retry_at == NINE
    assert outcome.promotions == [("production", "gated")]
    assert _last(git, only).gate.startswith("outside every promotion window")

    _reconciler(git, cluster, now=eight.replace(minute=30)).reconcile(only)
    assert git.phases(only) == [Phase.HEALTHY, Phase.WAITING]  # the same gate: no second entry
    assert git.pushes == []

    opened = _reconciler(git, cluster, now=NINE.replace(minute=10)).reconcile(only)
    assert opened.phase is Phase.PROMOTED
    assert git.phases(only) == [Phase.HEALTHY, Phase.WAITING, Phase.PROMOTED]
    assert [p.target for p in git.pushes] == ["production"]


def test_a_failed_revision_rolls_back_to_the_newest_verified_ancestor() -> None:
    git, cluster = MemoryGit(), MemoryCluster()
    first, second, third = _branch(git, "feature-a", "feature-b", "feature-c", rollback=True)
    elsewhere = git.commit(50, feature="other", policy=git.policy(first))  # not an ancestor
    cluster.verified = [elsewhere, second, first]
    cluster.unhealthy = {third}
    outcome = _reconciler(git, cluster).reconcile(third)
    assert (outcome.phase, outcome.stage) == (Phase.ROLLED_BACK, Stage.HEALTH)
    assert git.phases(third) == [Phase.FAILED, Phase.ROLLED_BACK]
    assert _last(git, third).rolled_back_to == second
    assert cluster.applied == [third, second]

    held = _reconciler(git, cluster).reconcile(third)  # the drift run holds the rollback
    assert held.phase is Phase.ROLLED_BACK
    assert cluster.applied == [third, second, second]
    assert git.phases(third) == [Phase.FAILED, Phase.ROLLED_BACK]


def test_without_a_verified_ancestor_the_failure_stands() -> None:
    git, cluster = MemoryGit(), MemoryCluster()
    (only,) = _branch(git, "feature-a", rollback=True)
    cluster.unhealthy = {only}
    outcome = _reconciler(git, cluster).reconcile(only)
    assert (outcome.phase, outcome.stage) == (Phase.FAILED, Stage.HEALTH)
    assert git.phases(only) == [Phase.FAILED]
    assert cluster.applied == [only]


def test_reconciling_the_same_revision_again_writes_and_pushes_nothing_new() -> None:
    git, cluster = MemoryGit(), MemoryCluster()
    first, second = _branch(git, "feature-a", "feature-b")
    _reconciler(git, cluster).reconcile(second)
    notes = {revision: git.phases(revision) for revision in (first, second)}
    pushes = list(git.pushes)
    again = _reconciler(git, cluster).reconcile(second)
    assert again.phase is Phase.PROMOTED
    assert again.promotions == []
    assert {revision: git.phases(revision) for revision in (first, second)} == notes
    assert git.pushes == pushes


def test_a_repeated_failure_is_noted_once() -> None:
    git, cluster = MemoryGit(), MemoryCluster()
    (only,) = _branch(git, "feature-a")
    cluster.unhealthy = {only}
    _reconciler(git, cluster).reconcile(only)
    _reconciler(git, cluster).reconcile(only)
    assert git.phases(only) == [Phase.FAILED]


def test_a_replica_out_of_its_term_writes_nothing() -> None:
    git, cluster = MemoryGit(), MemoryCluster()
    (only,) = _branch(git, "feature-a")

    def lost() -> object:
        raise LeadershipLost("the lease moved on")

    reconciler = _reconciler(git, cluster)
    reconciler.fence = lost  # type: ignore[assignment]
    with pytest.raises(LeadershipLost):
        reconciler.reconcile(only)
    assert git.notes == {}
    assert git.pushes == []


def test_pushes_name_the_delivery_and_the_verified_revision() -> None:
    git, cluster = MemoryGit(), MemoryCluster()
    (only,) = _branch(git, "feature-a", promotion={"to": ["production"], "mode": "auto"})
    _reconciler(git, cluster).reconcile(only)
    assert git.pushes == [Push("production", "feature-a", only, snapshot=True)]
