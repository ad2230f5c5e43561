"""The questions every reader of the bus asks of a revision's entries, answered once.

"Is this revision verified?", "which targets are already promoted?", "which
deliveries does it carry?", "what is its delivery called?" were answered in
several places with copies of the same phase sets; here each has one answer.
All are pure functions over typed entries (`record.entry.Entry`), in note order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from orchestrator.record.entry import Entry, PromotionRecord
from orchestrator.record.phases import (
    PROMOTION_STAGES,
    UNVERIFIED_PHASES,
    VERIFIED_PHASES,
    Phase,
)


def fallback_delivery(revision: str) -> str:
    """The delivery name of a commit that names none: derived from its id."""
    return f"rev-{revision[:12]}"


def delivery_name(*names: str | None, revision: str) -> str:
    """The first name given (note, trailers, ...), else the commit's derived name."""
    return next((name for name in names if name), fallback_delivery(revision))


def verified_here(entries: Iterable[Entry]) -> bool:
    """Some entry says the agent verified the revision here (even if later taken back)."""
    return any(e.phase in VERIFIED_PHASES for e in entries)


def verdicts(entries: Iterable[Entry]) -> list[Entry]:
    """The entries that judge the revision: verifications and what takes them back."""
    return [e for e in entries if e.phase in VERIFIED_PHASES or e.phase in UNVERIFIED_PHASES]


def verification(entries: Sequence[Entry]) -> Entry | None:
    """The entry that verified the revision, if its latest verdict is a verification.

    None when there is no verdict or the latest is a failure or a rollback: a later
    Failed or RolledBack takes an earlier Healthy back.
    """
    judged = verdicts(entries)
    if not judged or judged[-1].phase not in VERIFIED_PHASES:
        return None
    return judged[-1]


def latest_verdict_phase(entries: Sequence[Entry]) -> str:
    """The phase of the latest verdict, or "nothing" (for messages)."""
    judged = verdicts(entries)
    return judged[-1].phase if judged else "nothing"


def promoted_targets(entries: Iterable[Entry], *, revision: str) -> set[str]:
    """Target environments an entry already settles for `revision`.

    A Promoted entry names the targets it pushed to; a Superseded entry written when
    the promotion was refused (the target holds a newer revision's promotion) names
    the target it gave up on, for good.
    """
    done: set[str] = set()
    for entry in entries:
        if entry.phase in (Phase.PROMOTED, Phase.SUPERSEDED) and entry.revision == revision:
            done.update(p.target for p in entry.promotions)
    return done


def promotions_by_target(entries: Iterable[Entry]) -> tuple[PromotionRecord, ...]:
    """Every target's promotion as the entries record it, a later entry's word winning.

    A fan-out that failed half-way records the targets it reached and the retry
    records the rest, so the union over all entries is what was produced. Sorted
    by target; records without a ref (a refused push) do not count.
    """
    found: dict[str, PromotionRecord] = {}
    for entry in entries:
        found.update((p.target, p) for p in entry.promotions if p.ref is not None)
    return tuple(found[target] for target in sorted(found))


def failed_here(entries: Sequence[Entry]) -> bool:
    """Judged here and found wanting (a stage before promotion failed), never verified.

    Such a delivery is not promoted on its own: a later revision's verdict does
    not make a refused signature or a failed health check a promotion.
    """
    if any(e.phase in VERIFIED_PHASES or e.phase == Phase.SUPERSEDED for e in entries):
        return False
    return any(e.phase == Phase.FAILED and e.stage not in PROMOTION_STAGES for e in entries)


def settled(entries: Sequence[Entry], *, revision: str, targets: Iterable[str]) -> bool:
    """Verified here on its own, and promoted to every target (if there are any)."""
    return verified_here(entries) and set(targets) <= promoted_targets(entries, revision=revision)


def carried_deliveries(entry: Entry) -> tuple[str, ...]:
    """The deliveries an entry speaks for: those a snapshot names, else its own."""
    if entry.deliveries:
        return entry.deliveries
    return (entry.delivery,) if entry.delivery else ()


def waiting_on(entries: Iterable[Entry], *, gate: str) -> bool:
    """Already recorded as Waiting on this very gate (a repeat writes nothing)."""
    return any(e.phase == Phase.WAITING and e.gate == gate for e in entries)


def has_failure(entries: Iterable[Entry], *, stage: str, message: str) -> bool:
    """Some entry already records this failure, word for word."""
    return any(e.stage == stage and e.message == message for e in entries)


def repeats(latest: Entry | None, *, phase: Phase, stage: str, message: str) -> bool:
    """The latest entry says exactly this already: writing it again adds nothing."""
    return (
        latest is not None
        and latest.phase == phase
        and latest.stage == stage
        and latest.message == message
    )
