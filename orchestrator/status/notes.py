"""What a revision's note says, read from the note's raw fields in this one place.

Everything else in the read model uses `NoteSummary`, so the shape of a note
entry is known here alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.gitbus.protocol import NoteDocument
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
    latest = note.latest() if note is not None else None
    if note is None or latest is None:
        return NoteSummary(entries=len(note.entries) if note is not None else 0)
    fields = latest.fields
    return NoteSummary(
        phase=latest.phase,
        delivery=_text(fields.get("delivery")),
        stage=_text(fields.get("stage")),
        message=_text(fields.get("message")) or _text(fields.get("error")),
        health=_health(fields.get("health")),
        gate=_text(fields.get("gate")),
        agent=latest.agent or None,
        started=_text(fields.get("started")),
        updated_at=latest.at or None,
        verified_on=_text(fields.get("verifiedOn")),
        conflicts=_words(fields.get("conflicts")),
        carries=_words(fields.get("deliveries")),
        entries=len(note.entries),
        promotions=_promotions(note),
    )


def _promotions(note: NoteDocument | None) -> tuple[PromotionLink, ...]:
    """Promotions recorded on a revision; a later entry's word on a target wins.

    A fan-out that failed half-way records the targets it reached, and the retry
    records the rest, so the union over all entries is what was produced.
    """
    found: dict[str, PromotionLink] = {}
    for entry in note.entries if note is not None else ():
        raw = entry.fields.get("promotions")
        for item in raw if isinstance(raw, list) else []:
            if not isinstance(item, dict):
                continue
            target, ref = item.get("target"), item.get("ref")
            if not isinstance(target, str) or not isinstance(ref, str):
                continue
            commit = item.get("commit")
            found[target] = PromotionLink(
                target=target,
                ref=ref,
                commit=commit if isinstance(commit, str) else None,
                pushed=bool(item.get("pushed")),
            )
    return tuple(found[t] for t in sorted(found))


def _words(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _health(value: Any) -> str | None:
    """The agent writes a one-line summary; the protocol example maps object -> word."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict) and value:
        healthy = sum(1 for v in value.values() if str(v).lower() == "healthy")
        return f"{healthy}/{len(value)} healthy"
    return None
