"""What an agent writes into its git note about a revision: the status report on the bus.

A note entry is the whole public record of a reconcile: `orchestrator status`, the
pipeline page and other tools read only these. Entries carry object names, kinds,
actions, health and run outcomes, never object contents, so no Secret data can
reach Git through them. `docs/protocol.md` documents the fields.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from orchestrator.gitbus.protocol import NoteEntry, utc_timestamp

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
    SUPERSEDED = "Superseded"  # healthy, but the target holds a newer revision's promotion


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
        if self.changes:
            fields["changes"] = dict(self.changes)
        if self.objects:
            fields["objects"] = self.objects[:MAX_OBJECTS_IN_NOTE]
            if len(self.objects) > MAX_OBJECTS_IN_NOTE:
                fields["objectsOmitted"] = len(self.objects) - MAX_OBJECTS_IN_NOTE
        if self.health:
            fields["health"] = self.health
        if self.runs:
            fields["runs"] = self.runs
        if self.promotions:
            fields["promotions"] = self.promotions
        if self.gate:
            fields["gate"] = self.gate
        if self.rolled_back_to:
            fields["rolledBackTo"] = self.rolled_back_to
        return NoteEntry(
            id=f"{phase.lower()}-{uuid.uuid4().hex[:16]}",
            at=precise_timestamp(),
            agent=self.agent,
            phase=str(phase),
            fields=fields,
        )


_PROMOTION_DONE = frozenset({Phase.PROMOTED, Phase.SUPERSEDED})


def promoted_targets(entries: Sequence[NoteEntry], *, revision: str) -> set[str]:
    """Targets a Promoted (or Superseded) entry already settles for `revision`."""
    done: set[str] = set()
    for entry in entries:
        if entry.phase not in _PROMOTION_DONE or entry.fields.get("revision") != revision:
            continue
        for promotion in entry.fields.get("promotions") or []:
            if isinstance(promotion, dict) and isinstance(promotion.get("target"), str):
                done.add(promotion["target"])
    return done


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
