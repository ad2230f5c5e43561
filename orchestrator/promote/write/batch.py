"""The promotion write side: recording and promoting what a verified revision carries.

`promote.planning` decides (which deliveries, which still need a note, which
targets are left); this module writes, through a `Pusher` (the agent's Git
port) and a note writer: a `Superseded` entry on each carried
commit that was never verified on its own, then one promotion per delivery (or
one snapshot), each followed at once by a `Promoted` entry on the delivery's own
commit. Because each delivery's note is written right after its push, and a
replayed push is a no-op (same tree), a crash anywhere in a batch still gives
exactly one promotion commit per delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from orchestrator.errors import GitError, MergeConflict, PromotionSuperseded
from orchestrator.gitbus.protocol import NoteEntry
from orchestrator.promote.planning.decide import request_for
from orchestrator.promote.planning.request import PromotionRequest
from orchestrator.promote.policy.schema import EnvironmentPolicy
from orchestrator.promote.revision.deliveries import Change, Planned
from orchestrator.promote.write.promotion import PromotionResult
from orchestrator.record import Entry, Phase, PromotionRecord, Report, Stage
from orchestrator.record.questions import has_failure

log = logging.getLogger("orchestrator.agent")  # the agent's log: it runs the batch


@dataclass
class BatchResult:
    """What a batch did: per target a result word, and the first hard failure."""

    promotions: list[tuple[str, str]] = field(default_factory=list)  # (target, result)
    conflicts: list[str] = field(default_factory=list)  # deliveries whose change did not apply
    failed: str = ""  # a push that failed for another reason: the batch stopped there
    superseded: list[str] = field(default_factory=list)  # why a push was refused as stale
    pushed_any: bool = False  # some target took (or already held) a promotion
    promoted: list[PromotionRecord] = field(default_factory=list)  # the verified revision's own


class Pusher(Protocol):
    """Where promotions go: the agent's Git port."""

    def push_promotion(
        self, request: PromotionRequest, *, change: Change | None, fence: Callable[[], None]
    ) -> PromotionResult:
        """Push one promotion: `change` on its own, or (None) the revision as a snapshot."""


@dataclass(frozen=True)
class Promoter:
    """Writes the notes and pushes the promotions of one environment's agent."""

    git: Pusher
    env: str
    record: Callable[[str, NoteEntry], None]
    # Runs before every push attempt; raises (LeadershipLost) when this replica's term
    # is over, so a paused leader never pushes after a newer one did.
    fence: Callable[[], None] = lambda: None
    # Named points between the writes, where crash tests stop the agent (agent.failpoints).
    reach: Callable[[str], None] = lambda _point: None

    def supersede(
        self,
        changes: Sequence[Change],
        *,
        revision: str,
        report: Report,
    ) -> None:
        """A `Superseded` entry on each of `changes`, carried commits without a verdict."""
        for change in changes:
            verdict = report.health or Phase.HEALTHY
            message = (
                f"contained in {revision[:12]}, verified there ({verdict}); "
                "that verdict covers this commit"
            )
            log.info("%s: superseded by %s, which was verified", change.sha[:12], revision[:12])
            self.record(
                change.sha, self._report(change, report).entry(Phase.SUPERSEDED, message=message)
            )

    def run(
        self,
        plans: Sequence[Planned],
        *,
        policy: EnvironmentPolicy,
        notes: Mapping[str, Sequence[Entry]],
        report: Report,
    ) -> BatchResult:
        """Every planned promotion in merge order; a conflict skips one, a failure stops all."""
        batch = BatchResult()
        for planned in plans:
            results: list[PromotionRecord] = []
            for target in planned.targets:
                self.reach("before-promotion-push")
                try:
                    result = self._push(planned, target=target, policy=policy, report=report)
                except PromotionSuperseded as exc:
                    self._superseded(planned.change, exc, report=report, target=target)
                    batch.promotions.append((target, "superseded"))
                    batch.superseded.append(str(exc))
                    continue
                except MergeConflict as exc:
                    self._conflict(planned.change, exc, notes=notes, report=report, target=target)
                    batch.promotions.append((target, "conflict"))
                    batch.conflicts.append(planned.change.feature)
                    continue
                except (GitError, ValueError) as exc:
                    batch.failed = str(exc)
                    batch.promotions.append((target, "failed"))
                    self._promoted(planned, results, report=report)
                    return batch
                self.reach("after-promotion-push")
                log.info(
                    "%s: %s promoted to %s (%s)",
                    report.revision[:12],
                    planned.change.feature,
                    result.target_ref,
                    "pushed" if result.pushed else "already there",
                )
                results.append(
                    PromotionRecord(
                        target=target,
                        ref=result.target_ref,
                        commit=result.commit,
                        pushed=result.pushed,
                    )
                )
                batch.promotions.append((target, "promoted" if result.pushed else "unchanged"))
                batch.pushed_any = True
            self._promoted(planned, results, report=report)
            if planned.change.sha == report.revision:
                batch.promoted = results
            self.reach("after-delivery-note")
        return batch

    def _push(
        self, planned: Planned, *, target: str, policy: EnvironmentPolicy, report: Report
    ) -> PromotionResult:
        snapshot = policy.promotion.effective_unit == "snapshot"
        request = request_for(
            policy,
            source_env=self.env,
            revision=report.revision,
            feature=planned.change.feature,
            target=target,
            health=report.health,
            verified_by=report.agent,
            origin_commit=planned.change.origin_commit,
            carries=[c.feature for c in planned.carries] if snapshot else (),
        )
        return self.git.push_promotion(
            request, change=None if snapshot else planned.change, fence=self.fence
        )

    def _promoted(
        self, planned: Planned, results: list[PromotionRecord], *, report: Report
    ) -> None:
        """A `Promoted` entry on every commit the promotion carries."""
        if not results:
            return
        names = [c.feature for c in planned.carries] if len(planned.carries) > 1 else []
        if planned.change.sha == report.revision:
            report.promotions = results
        for change in planned.carries:
            own = self._report(change, report)
            own.promotions = results
            own.carries = names
            self.record(change.sha, own.entry(Phase.PROMOTED))

    def _superseded(
        self, change: Change, exc: PromotionSuperseded, *, report: Report, target: str
    ) -> None:
        """The target holds a newer revision's promotion: noted, nothing pushed."""
        log.warning("%s: not promoted to %s: %s", change.sha[:12], target, exc)
        own = self._report(change, report)
        own.promotions = [
            PromotionRecord(target=target, ref="", superseded_by=exc.newer, message=str(exc))
        ]
        self.record(change.sha, own.entry(Phase.SUPERSEDED, message=str(exc)))

    def _conflict(
        self,
        change: Change,
        exc: MergeConflict,
        *,
        notes: Mapping[str, Sequence[Entry]],
        report: Report,
        target: str,
    ) -> None:
        """Recorded once per distinct conflict; the other deliveries go on."""
        message = f"{target}: {exc}"
        log.warning("%s: %s does not apply: %s", report.revision[:12], change.feature, message)
        if has_failure(notes.get(change.sha, ()), stage=Stage.CONFLICT, message=message):
            return
        own = self._report(change, report)
        own.conflicts = list(exc.paths)
        self.record(change.sha, own.entry(Phase.FAILED, stage=Stage.CONFLICT, message=message))

    def _report(self, change: Change, report: Report) -> Report:
        """The report of the verified revision itself, or a short one for a carried commit."""
        if change.sha == report.revision:
            return replace(report)
        return Report(
            environment=self.env,
            revision=change.sha,
            agent=report.agent,
            delivery=change.feature,
            health=report.health,
            verified_on=report.revision,
        )
