"""A prepared bus for the status tests: two environments, deliveries in every state.

Maintainers merge with real git (WorkRepo), the staging agent's promotion commits
come from the real promotion code, and notes are written through
`CacheRepo.add_note` with entries built exactly as the agent builds them
(`Report.entry`), with fixed times so ages are predictable.

    staging:     S1 feature-a Promoted -> production (merged: P1)
                 S2 feature-b Promoted -> pr/production/feature-b (waiting)
                 candidate pr/staging/feature-c (waiting for a merge)
    production:  P0 baseline (no note), P1 feature-a Healthy 3/3,
                 candidate pr/production/feature-b
    main:        an ordinary branch, no notes, no policy: not an environment
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestrator.gitbus.protocol import Identity, NoteEntry, utc_timestamp
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.promote.planning.request import PromotionRequest
from orchestrator.promote.write.promotion import promote
from orchestrator.record import Phase, PromotionRecord, Report, Stage
from tests.support.workrepo import WorkRepo, git

POLICY = """\
apiVersion: orchestrator.dev/v1alpha1
kind: PromotionPolicy
environments:
  staging:
    promotion: {to: [production], mode: pr}
  production:
    promotion: {to: []}
"""
STAGING = Identity(name="agent-staging", email="staging@orchestrator.test")
PRODUCTION = Identity(name="agent-production", email="production@orchestrator.test")
SOURCE = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class PipelineBus:
    """The remote and the commits the tests talk about."""

    work: WorkRepo
    root: Path
    now: datetime
    s1: str = ""
    s2: str = ""
    p0: str = ""
    p1: str = ""
    promo_a: str = ""
    promo_b: str = ""
    cand_c: str = ""

    @property
    def remote(self) -> str:
        return str(self.work.bare)

    def copy(self, root: Path) -> PipelineBus:
        """The same bus in a fresh directory, for a test that changes it (building is slower)."""
        root.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.work.bare, root / self.work.bare.name)
        shutil.copytree(self.work.work, root / self.work.work.name)
        work = WorkRepo.__new__(WorkRepo)
        work.bare, work.work = root / self.work.bare.name, root / self.work.work.name
        git("remote", "set-url", "origin", str(work.bare), cwd=work.work)
        return replace(self, work=work, root=root)

    def cache(self, name: str = "notes-writer") -> CacheRepo:
        return CacheRepo.open(self.root / name, remote_url=self.remote)

    def note(
        self,
        *,
        env: str,
        commit: str,
        phase: Phase,
        delivery: str,
        minutes_ago: int,
        health: str = "",
        promotions: list[dict[str, object]] | None = None,
        stage: Stage | None = None,
        message: str = "",
    ) -> NoteEntry:
        """Write one agent note entry, `minutes_ago` before `now`."""
        when = self.now - timedelta(minutes=minutes_ago)
        report = Report(
            environment=env,
            revision=commit,
            agent=f"agent-{env}",
            delivery=delivery,
            started=utc_timestamp(when - timedelta(minutes=1)),
            health=health,
            promotions=[r for p in promotions or [] if (r := PromotionRecord.from_json(p))],
        )
        entry = replace(report.entry(phase, stage=stage, message=message), at=utc_timestamp(when))
        author = STAGING if env == "staging" else PRODUCTION
        self.cache().add_note(env=env, commit=commit, entries=[entry], author=author)
        return entry


def _candidate(work: WorkRepo, *, env: str, feature: str, content: str) -> str:
    return work.commit(
        f"pr/{env}/{feature}",
        {"manifests/app.yaml": content},
        message=f"Deliver {feature}\n\nDelivery: {feature}\nSource-Commit: {SOURCE}",
        base=env,
    )


def _promote(bus: PipelineBus, *, source: str, feature: str) -> str:
    cache = bus.cache("promoter")
    cache.refresh("refs/heads/staging")
    result = promote(
        cache,
        PromotionRequest(
            source_env="staging",
            source_commit=source,
            feature=feature,
            target_env="production",
            mode="pr",
            paths=("manifests",),
            health="Healthy (3/3)",
            verified_by="agent-staging",
            origin_commit=SOURCE,
        ),
        author=STAGING,
    )
    assert result.commit is not None
    return result.commit


def build_bus(root: Path, *, now: datetime | None = None) -> PipelineBus:
    """Write the whole scenario into a fresh bare repository under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    work = WorkRepo(root)
    bus = PipelineBus(work=work, root=root, now=now or datetime.now(UTC))
    work.commit("main", {"README": "app source\n"}, message="An ordinary branch")
    bus.p0 = work.commit(
        "production",
        {".orchestrator/policy.yaml": POLICY, "manifests/app.yaml": "v0\n"},
        message="production baseline",
    )
    work.commit(
        "staging",
        {".orchestrator/policy.yaml": POLICY, "manifests/app.yaml": "v0\n"},
        message="staging baseline",
    )

    _candidate(work, env="staging", feature="feature-a", content="a\n")
    bus.s1 = work.merge("pr/staging/feature-a", into="staging")
    bus.note(
        env="staging", commit=bus.s1, phase=Phase.HEALTHY, delivery="feature-a",
        minutes_ago=50, health="Healthy (3/3)",
    )  # fmt: skip
    bus.promo_a = _promote(bus, source=bus.s1, feature="feature-a")
    bus.note(
        env="staging", commit=bus.s1, phase=Phase.PROMOTED, delivery="feature-a",
        minutes_ago=49, health="Healthy (3/3)",
        promotions=[{"target": "production", "ref": "refs/heads/pr/production/feature-a",
                     "commit": bus.promo_a, "pushed": True}],
    )  # fmt: skip
    bus.p1 = work.merge("pr/production/feature-a", into="production")
    work.delete_branch("pr/production/feature-a")
    bus.note(
        env="production", commit=bus.p1, phase=Phase.HEALTHY, delivery="feature-a",
        minutes_ago=30, health="Healthy (3/3)",
    )  # fmt: skip

    _candidate(work, env="staging", feature="feature-b", content="b\n")
    bus.s2 = work.merge("pr/staging/feature-b", into="staging")
    work.delete_branch("pr/staging/feature-b")
    bus.note(
        env="staging", commit=bus.s2, phase=Phase.HEALTHY, delivery="feature-b",
        minutes_ago=10, health="Healthy (3/3)",
    )  # fmt: skip
    bus.promo_b = _promote(bus, source=bus.s2, feature="feature-b")
    bus.note(
        env="staging", commit=bus.s2, phase=Phase.PROMOTED, delivery="feature-b",
        minutes_ago=9, health="Healthy (3/3)",
        promotions=[{"target": "production", "ref": "refs/heads/pr/production/feature-b",
                     "commit": bus.promo_b, "pushed": True}],
    )  # fmt: skip

    bus.cand_c = _candidate(work, env="staging", feature="feature-c", content="c\n")
    return bus


def fail_production(bus: PipelineBus, *, minutes_ago: int = 1) -> NoteEntry:
    """The production agent finds feature-a unhealthy: the latest word becomes Failed."""
    return bus.note(
        env="production",
        commit=bus.p1,
        phase=Phase.FAILED,
        delivery="feature-a",
        minutes_ago=minutes_ago,
        stage=Stage.HEALTH,
        message="Deployment/web/api: 0/3 replicas available",
        health="Failed (1/3)",
    )
