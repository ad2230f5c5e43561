"""What a revision's note says, as the read model shows it.

The typed record (`orchestrator.record`) reads the entries; this module picks what
a pipeline view shows of them: the latest entry's word, and every target's
promotion over all entries.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.gitbus.protocol import NoteDocument
from orchestrator.record import entries_of
from orchestrator.record.questions import promotions_by_target
from orchestrator.status.model import PromotionLink


@dataclass(frozen=True, slots=True)
class NoteSummary:
    """The latest entry's word on a revision, and the promotions every entry recorded."""

    phase: str | None = None
    delivery: str | None = None
    stage: str | None = None
    message: str | None = None
    health: str | None = None
    gate: str | None = None
    agent: str | None = None
    started: str | None = None
    updated_at: str | None = None
    verified_on: str | None = None
    conflicts: tuple[str, ...] = ()
    carries: tuple[str, ...] = ()
    entries: int = 0
    promotions: tuple[PromotionLink, ...] = ()


def summarize(note: NoteDocument | None) -> NoteSummary:
    """The summary of `note`; an empty one when the revision has none yet."""
    entries = entries_of(note)
    if not entries:
        return NoteSummary()
    latest = entries[-1]
    return NoteSummary(
        phase=latest.phase,
        delivery=latest.delivery or None,
        stage=latest.stage or None,
        message=latest.message or latest.error or None,
        health=latest.health or None,
        gate=latest.gate or None,
        agent=latest.agent or None,
        started=latest.started or None,
        updated_at=latest.at or None,
        verified_on=latest.verified_on or None,
        conflicts=latest.conflicts,
        carries=latest.deliveries,
        entries=len(entries),
        promotions=tuple(
            PromotionLink(
                target=p.target,
                ref=p.ref or "",
                commit=p.commit,
                pushed=p.pushed,
            )
            for p in promotions_by_target(entries)
        ),
    )
