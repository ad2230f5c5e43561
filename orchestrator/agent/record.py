"""What an agent writes into its git note about a revision: the status report on the bus.

A note entry is the whole public record of a reconcile: `orchestrator status`, the
pipeline page and other tools read only these. Entries carry object names, kinds,
actions, health and run outcomes, never object contents, so no Secret data can
reach Git through them. `docs/protocol.md` documents the fields.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from orchestrator.gitbus.protocol import NoteEntry, utc_timestamp
from orchestrator.promote.deliveries import promoted_targets

__all__ = [
    "MAX_OBJECTS_IN_NOTE",
    "Phase",
    "Report",
    "Stage",
    "precise_timestamp",
    "promoted_targets",
]

MAX_OBJECTS_IN_NOTE = 300


def precise_timestamp() -> str:
    """RFC 3339 UTC with microseconds: entries of one second keep their write order.

    Notes sort entries by `at`; with whole seconds a Failed promotion written in the
    same second as Healthy could sort before it and hide the failure.
    """
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Phase(StrEnum):
    """Where a revision stands in one environment (the `phase` of a note entry)."""

    FAILED = "Failed"  # a stage failed; `stage` and `message` say which and why
    HEALTHY = "Healthy"  # applied, healthy, soaked and verified
    WAITING = "Waiting"  # healthy, but a gate keeps the promotion back
    PROMOTED = "Promoted"  # healthy, and the promotion commits are on the bus
    ROLLED_BACK = "RolledBack"  # failed, and the last healthy revision was re-applied
    DRIFT_CORRECTED = "DriftCorrected"  # the cluster had drifted and was re-applied
    # A newer revision that contains this commit settles it: either that revision
    # was verified (`verifiedOn`), its verdict covering this commit too, or the
    # target already holds that revision's promotion (`supersededBy`), so this
    # one's would replay older content.
    SUPERSEDED = "Superseded"


class Stage(StrEnum):
    """The failure reasons, one per pipeline stage."""

    ARTIFACT = "ArtifactFailed"
    POLICY = "PolicyInvalid"
    SIGNATURE = "SignatureFailed"
    BUILD = "BuildFailed"
    NOT_ALLOWED = "NotAllowed"
    APPLY = "ApplyFailed"
    PRUNE = "PruneFailed"
    HEALTH = "HealthCheckFailed"
    VERIFICATION = "VerificationFailed"
    PROMOTION = "PromotionFailed"
    CONFLICT = "PromotionConflict"  # the delivery's change does not apply on the target


@dataclass
class Report:
    """Collected while a reconcile runs; becomes one note entry at the end."""

    environment: str
    revision: str
    agent: str
    delivery: str = ""
    started: str = field(default_factory=utc_timestamp)
    changes: dict[str, int] = field(default_factory=dict)
    objects: list[dict[str, Any]] = field(default_factory=list)
    health: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)
    promotions: list[dict[str, Any]] = field(default_factory=list)
    gate: str = ""
    rolled_back_to: str = ""
    verified_on: str = ""  # the revision whose verdict covers this one (a carried delivery)
    conflicts: list[str] = field(default_factory=list)  # paths a promotion conflicts on
    carries: list[str] = field(default_factory=list)  # deliveries a snapshot promotion names

    def entry(self, phase: Phase, *, stage: Stage | None = None, message: str = "") -> NoteEntry:
        fields: dict[str, Any] = {
            "environment": self.environment,
            "revision": self.revision,
            "delivery": self.delivery,
            "started": self.started,
        }
        if stage is not None:
            fields["stage"] = str(stage)
        if message:
            fields["message"] = message
        optional: dict[str, Any] = {
            "changes": dict(self.changes),
            "health": self.health,
            "runs": self.runs,
            "promotions": self.promotions,
            "gate": self.gate,
            "rolledBackTo": self.rolled_back_to,
            "verifiedOn": self.verified_on,
            "conflicts": list(self.conflicts),
            "deliveries": list(self.carries),
        }
        fields.update({key: value for key, value in optional.items() if value})
        if self.objects:
            fields["objects"] = self.objects[:MAX_OBJECTS_IN_NOTE]
            if len(self.objects) > MAX_OBJECTS_IN_NOTE:
                fields["objectsOmitted"] = len(self.objects) - MAX_OBJECTS_IN_NOTE
        return NoteEntry(
            id=f"{phase.lower()}-{uuid.uuid4().hex[:16]}",
            at=precise_timestamp(),
            agent=self.agent,
            phase=str(phase),
            fields=fields,
        )


# The stages whose failure rolls back (when the policy asks for it), and that a
# drift run retries first: what the cluster says can change from one look to the next.
ROLLBACK_STAGES = frozenset({Stage.APPLY, Stage.PRUNE, Stage.HEALTH, Stage.VERIFICATION})


def retry_drift_failure(*, stage: Stage, verified: bool, attempt: int, retries: int) -> bool:
    """Whether a failed run should look again before it counts (and rolls back).

    Only for a revision this agent already verified here (a drift run, or the
    same revision after a restart): a moment of Unknown health or a hiccup of
    the API server must not undo a delivery that was fine. A new revision fails
    at once, since nothing was known good about it.
    """
    return verified and stage in ROLLBACK_STAGES and attempt < retries
