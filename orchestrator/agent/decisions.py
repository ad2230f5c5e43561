"""The reconciler's own decisions, as pure functions over plain values.

What to note after a healthy delivery, which revision a rolled-back environment
holds, and what a promotion batch means for the revision's phase: each is a
function of what the record and the cluster said, so a unit test states the
case and the answer without a repository or an API server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestrator.health import DeliveryHealth
from orchestrator.kube.changeset import ChangeSet
from orchestrator.promote.planning.decide import PromotionPlan
from orchestrator.promote.write.batch import BatchResult
from orchestrator.record import Entry, Phase, Stage

DRIFT_ACTIONS = ("created", "configured")


@dataclass(frozen=True)
class Verdict:
    """Where the promotion step leaves a verified revision."""

    phase: Phase
    stage: Stage | None = None
    message: str = ""
    promotions: list[tuple[str, str]] = field(default_factory=list)  # (target, result)
    retry_at: datetime | None = None  # Waiting: when the closed gate opens


def healthy_note(existing: Sequence[Entry], changes: ChangeSet) -> tuple[Phase, str] | None:
    """The entry a verified delivery adds: Healthy once, then DriftCorrected when it re-applied.

    None when there is nothing new to say (a drift run that found the cluster as Git says).
    """
    if not any(e.phase == Phase.HEALTHY for e in existing):
        return Phase.HEALTHY, ""
    if not changes.changed:
        return None
    drifted = ", ".join(str(e.ref) for e in changes if str(e.action) in DRIFT_ACTIONS)
    return Phase.DRIFT_CORRECTED, f"re-applied objects changed outside Git: {drifted}"


def applied_record(changes: ChangeSet) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """What the note says of an apply: counts by action, and each object's name and action."""
    counts = {str(k): v for k, v in changes.counts().items() if v}
    return counts, [{"object": str(e.ref), "action": str(e.action)} for e in changes]


def with_health(
    objects: Sequence[Mapping[str, Any]], health: DeliveryHealth
) -> list[dict[str, Any]]:
    """The note's objects, each with the health the last check saw."""
    status_of = {str(o.ref): str(o.status) for o in health.objects}
    return [
        {**obj, "health": status_of[obj["object"]]} if obj["object"] in status_of else dict(obj)
        for obj in objects
    ]


def held_revision(*, applied: str, verified: Sequence[str], revision: str) -> str | None:
    """The revision a rolled-back environment keeps applying, or None to wait for a commit.

    Only one that this agent verified and that is not the failed revision itself.
    """
    if not applied or applied == revision or applied not in verified:
        return None
    return applied


def waiting(plan: PromotionPlan) -> Verdict:
    """A closed gate: the pending targets are gated until it opens."""
    return Verdict(
        phase=Phase.WAITING,
        promotions=[(target, "gated") for target in plan.pending_targets],
        retry_at=plan.gate.retry_at if plan.gate is not None else None,
    )


def after_batch(batch: BatchResult) -> Verdict:
    """The revision's phase after its batch: Promoted, Healthy (failed, conflict) or Superseded.

    A failed push leaves the revision Healthy with the PromotionFailed stage: it
    was verified, and the next drift run pushes again.
    """
    if batch.failed:
        return Verdict(
            phase=Phase.HEALTHY,
            stage=Stage.PROMOTION,
            message=batch.failed,
            promotions=batch.promotions,
        )
    if batch.conflicts:
        message = f"not promoted (conflict on the target): {', '.join(batch.conflicts)}"
        return Verdict(phase=Phase.HEALTHY, message=message, promotions=batch.promotions)
    if batch.superseded and not batch.pushed_any:
        # Older than what every target holds: recorded as such, nothing pushed.
        return Verdict(
            phase=Phase.SUPERSEDED,
            message="; ".join(batch.superseded),
            promotions=batch.promotions,
        )
    return Verdict(phase=Phase.PROMOTED, promotions=batch.promotions)
