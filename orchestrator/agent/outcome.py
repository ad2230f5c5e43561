"""What one reconcile did, as values: the daemon's outcome and a verified delivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from orchestrator.agent.ports import Delivery
from orchestrator.agent.stages import StageFailed
from orchestrator.health import DeliveryHealth
from orchestrator.kube.changeset import ChangeSet
from orchestrator.promote.policy.schema import EnvironmentPolicy
from orchestrator.record import Phase, Stage


@dataclass
class Outcome:
    """What one reconcile did; the daemon uses it for metrics and scheduling."""

    revision: str
    phase: Phase
    stage: Stage | None = None
    message: str = ""
    changes: ChangeSet = field(default_factory=ChangeSet)
    health: DeliveryHealth | None = None
    promotions: list[tuple[str, str]] = field(default_factory=list)  # (target, result)
    policy: EnvironmentPolicy | None = None
    retry_at: datetime | None = None  # Waiting: when the closed gate opens


def failure(
    failed: StageFailed, revision: str, *, message: str, stage: Stage | None = None
) -> Outcome:
    """The outcome of a reconcile that stopped at `failed` (stage None: cancelled)."""
    return Outcome(
        revision=revision,
        phase=Phase.FAILED,
        stage=stage,
        message=message,
        changes=failed.changes if failed.changes is not None else ChangeSet(),
        policy=failed.policy,
    )


@dataclass(frozen=True)
class Delivered:
    """A revision applied, healthy and verified: what the promotion step starts from."""

    policy: EnvironmentPolicy
    delivery: Delivery
    changes: ChangeSet
    health: DeliveryHealth
