"""What an agent writes into its git note about a revision: the status report on the bus.

A note entry is the whole public record of a reconcile: `orchestrator status`, the
pipeline page and other tools read only these. Entries carry object names, kinds,
actions, health and run outcomes, never object contents, so no Secret data can
reach Git through them. `docs/protocol.md` documents the fields.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orchestrator.gitbus.protocol import NoteEntry, utc_timestamp
from orchestrator.record.entry import PromotionRecord
from orchestrator.record.phases import Phase, Stage

MAX_OBJECTS_IN_NOTE = 300


def precise_timestamp() -> str:
    """RFC 3339 UTC with microseconds: entries of one second keep their write order.

    Notes sort entries by `at`; with whole seconds a Failed promotion written in the
    same second as Healthy could sort before it and hide the failure.
    """
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
    promotions: list[PromotionRecord] = field(default_factory=list)
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
            "promotions": [p.to_json() for p in self.promotions],
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


def fenced(entry: NoteEntry, *, writer: str, token: int) -> NoteEntry:
    """`entry` signed with the leader's term: who wrote it, under which fencing token."""
    return dataclasses.replace(
        entry, fields={**entry.fields, "writer": writer, "fencingToken": token}
    )
