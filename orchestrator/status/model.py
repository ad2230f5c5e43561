"""The pipeline as plain data: environments, their deliveries and candidates, as JSON.

`PipelineView.to_json()` is the stable, documented shape (`docs/status.md`) that
both the CLI's `-o json` and the page's `/api/pipeline` serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.promote.write.suspension import Suspension
from orchestrator.record import Phase

SCHEMA = "orchestrator.pipeline/v1"
_SHORT = 7

JSON = dict[str, Any]


class Status:
    """The colour of a phase: one word the table and the page agree on."""

    HEALTHY = "healthy"
    PROGRESSING = "progressing"
    FAILED = "failed"
    UNKNOWN = "unknown"


# The agent's phases (`record.Phase`), and the lower-case words of docs/protocol.md's
# examples that other tools write.
_STATUS_OF_PHASE = {
    Phase.HEALTHY.lower(): Status.HEALTHY,
    Phase.PROMOTED.lower(): Status.HEALTHY,
    Phase.DRIFT_CORRECTED.lower(): Status.HEALTHY,
    Phase.SUPERSEDED.lower(): Status.HEALTHY,  # settled by a newer revision that contains it
    Phase.WAITING.lower(): Status.PROGRESSING,
    Phase.FAILED.lower(): Status.FAILED,
    Phase.ROLLED_BACK.lower(): Status.FAILED,
    "verified": Status.HEALTHY,
    "progressing": Status.PROGRESSING,
    "received": Status.PROGRESSING,
    "applied": Status.PROGRESSING,
    "unhealthy": Status.FAILED,
}


def status_of(phase: str | None) -> str:
    """Colour word of a phase; no note yet means the agent has still to act."""
    if phase is None:
        return Status.PROGRESSING
    return _STATUS_OF_PHASE.get(phase.lower(), Status.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where promoted content was verified: the Promoted-From trailer."""

    environment: str
    revision: str

    def to_json(self) -> JSON:
        return {"environment": self.environment, "revision": self.revision}


@dataclass(frozen=True, slots=True)
class PromotionLink:
    """A promotion a delivery produced, and whether it has landed on the target.

    `state` is `delivered` (the target branch holds it; `landed` is the target's
    revision when it is in view), `waiting` (a candidate branch awaits a merge) or
    `unknown` (the branch is gone, or older than the history read).
    """

    target: str
    ref: str
    commit: str | None
    pushed: bool
    state: str = "unknown"
    landed: str | None = None

    def to_json(self) -> JSON:
        return {
            "target": self.target,
            "ref": self.ref,
            "commit": self.commit,
            "pushed": self.pushed,
            "state": self.state,
            "landed": self.landed,
        }


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """One revision of an environment branch and what its agent last said about it."""

    environment: str
    revision: str
    delivery: str
    subject: str
    current: bool
    committed_at: str
    age_seconds: int
    phase: str | None = None
    stage: str | None = None
    message: str | None = None
    health: str | None = None
    gate: str | None = None
    agent: str | None = None
    started: str | None = None
    updated_at: str | None = None
    entries: int = 0
    source_commit: str | None = None
    promoted_from: Origin | None = None
    promotions: tuple[PromotionLink, ...] = ()
    verified_on: str | None = None  # the newer revision whose verdict covers this one
    conflicts: tuple[str, ...] = ()  # paths its change conflicts on in a target
    carries: tuple[str, ...] = ()  # every delivery it names (a snapshot names several)

    @property
    def status(self) -> str:
        return status_of(self.phase)

    def names(self, feature: str) -> bool:
        """True if this revision delivers `feature` (itself, or in a snapshot)."""
        return feature == self.delivery or feature in self.carries

    def to_json(self) -> JSON:
        return {
            "environment": self.environment,
            "revision": self.revision,
            "short": self.revision[:_SHORT],
            "delivery": self.delivery,
            "subject": self.subject,
            "current": self.current,
            "phase": self.phase,
            "status": self.status,
            "stage": self.stage,
            "message": self.message,
            "health": self.health,
            "gate": self.gate,
            "agent": self.agent,
            "started": self.started,
            "updated_at": self.updated_at,
            "committed_at": self.committed_at,
            "age_seconds": self.age_seconds,
            "entries": self.entries,
            "source_commit": self.source_commit,
            "promoted_from": self.promoted_from.to_json() if self.promoted_from else None,
            "promotions": [p.to_json() for p in self.promotions],
            "verified_on": self.verified_on,
            "conflicts": list(self.conflicts),
            "carries": list(self.carries),
        }


@dataclass(frozen=True, slots=True)
class CandidateView:
    """A `pr/<env>/<feature>` branch whose tip the environment has not merged yet."""

    environment: str
    delivery: str
    ref: str
    revision: str
    subject: str
    committed_at: str
    age_seconds: int
    source_commit: str | None = None
    promoted_from: Origin | None = None

    def to_json(self) -> JSON:
        return {
            "environment": self.environment,
            "delivery": self.delivery,
            "ref": self.ref,
            "revision": self.revision,
            "short": self.revision[:_SHORT],
            "subject": self.subject,
            "committed_at": self.committed_at,
            "age_seconds": self.age_seconds,
            "source_commit": self.source_commit,
            "promoted_from": self.promoted_from.to_json() if self.promoted_from else None,
        }


@dataclass(frozen=True, slots=True)
class EnvironmentView:
    """One environment: its branch tip first, then older revisions with notes."""

    name: str
    branch: str
    tip: str | None
    promotes_to: tuple[str, ...] = ()
    deliveries: tuple[DeliveryView, ...] = ()
    candidates: tuple[CandidateView, ...] = ()
    suspended: Suspension | None = None

    @property
    def current(self) -> DeliveryView | None:
        first = self.deliveries[0] if self.deliveries else None
        return first if first is not None and first.current else None

    def to_json(self) -> JSON:
        return {
            "name": self.name,
            "branch": self.branch,
            "tip": self.tip,
            "promotes_to": list(self.promotes_to),
            "deliveries": [d.to_json() for d in self.deliveries],
            "candidates": [c.to_json() for c in self.candidates],
            "suspended": self.suspended.to_json() if self.suspended else None,
        }


@dataclass(frozen=True, slots=True)
class PipelineView:
    """Every environment in promotion order, as one remote said at `generated_at`."""

    remote: str
    generated_at: str
    order: str
    environments: tuple[EnvironmentView, ...]
    warnings: tuple[str, ...] = ()

    def environment(self, name: str) -> EnvironmentView:
        for env in self.environments:
            if env.name == name:
                return env
        raise KeyError(name)

    def to_json(self) -> JSON:
        return {
            "schema": SCHEMA,
            "remote": self.remote,
            "generated_at": self.generated_at,
            "order": self.order,
            "warnings": list(self.warnings),
            "environments": [e.to_json() for e in self.environments],
        }
