"""Which deliveries a verified revision carries, and what promoting each of them takes.

Every merge into an environment branch is a delivery: its first-parent change is
what the feature brought. When the agent verifies a revision, every delivery
merged since the last revision it verified *and promoted* is in that state, so
the verdict covers each of them. The decisions here are pure functions over the
first-parent history and this environment's notes (plain data), so the agent's
reconcile only reads, calls and writes:

- `carried`: the deliveries a verified revision carries, oldest first;
- `superseded`: which of them still need a `Superseded` note naming the verifier;
- `plan`: per delivery (or one snapshot), the targets still to promote to.

`read_history` is the one reader: bounded, local reads of the cache clone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from orchestrator.errors import GitError
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.promote.revision.source import delivered_trailers
from orchestrator.record import Entry, entries_of
from orchestrator.record.questions import (
    failed_here,
    fallback_delivery,
    promoted_targets,
    settled,
)

# First-parent commits looked at behind a verified revision. A pull request host
# working through a merge queue lands a hundred merges within seconds, all before
# the agent verifies the tip; the walk ends at the first settled commit, so the
# bound is paid only without one in view (a new agent on a long branch, once).
HISTORY_LIMIT = 500

Unit = Literal["delivery", "snapshot"]
Notes = Mapping[str, Sequence[Entry]]  # this environment's entries, per commit


@dataclass(frozen=True, slots=True)
class Change:
    """One commit of an environment branch: the delivery its first-parent change made."""

    sha: str
    parent: str | None  # first parent; None for a root commit
    feature: str
    origin_commit: str | None = None


@dataclass(frozen=True, slots=True)
class Planned:
    """A promotion to make: `change` (or, for a snapshot, every carried change) to targets."""

    change: Change
    targets: tuple[str, ...]
    carries: tuple[Change, ...]  # the deliveries the promotion names (just `change` per delivery)


def _settled(entries: Sequence[Entry], *, sha: str, targets: Sequence[str]) -> bool:
    return settled(entries, revision=sha, targets=targets)


def carried(
    history: Sequence[Change],
    notes: Notes,
    *,
    targets: Sequence[str],
) -> list[Change]:
    """The deliveries the verified revision `history[0]` carries, oldest first.

    `history` is the first-parent chain from the verified revision backwards. The
    walk stops at the first older commit that was verified here and promoted to
    every target: what lies behind it has been carried already. Without such a
    commit in view, the oldest commit this environment noted (a failure, say)
    bounds it: older ones came before the agent. With no note at all, a branch
    whose whole history is in view (its root included) was never verified here,
    so every commit on it is carried; a longer one (a new agent on an old branch)
    gives no way to tell which commits are new, so the revision counts alone.
    """
    if not history:
        return []
    for index, change in enumerate(history[1:], start=1):
        if _settled(notes.get(change.sha, ()), sha=change.sha, targets=targets):
            return list(reversed(history[:index]))
    noted = [i for i, change in enumerate(history) if i > 0 and notes.get(change.sha)]
    if noted:
        return list(reversed(history[: noted[-1] + 1]))
    if history[-1].parent is None:
        return list(reversed(history))
    return [history[0]]


def superseded(changes: Sequence[Change], notes: Notes, *, revision: str) -> list[Change]:
    """Carried commits other than `revision` that have no note here yet.

    A commit with a verdict of its own (even a failure) keeps it as its word; the
    others get a `Superseded` entry naming `revision`.
    """
    return [c for c in changes if c.sha != revision and not notes.get(c.sha)]


def plan(
    changes: Sequence[Change],
    notes: Notes,
    *,
    targets: Sequence[str],
    unit: Unit,
) -> list[Planned]:
    """The promotions still to make, in merge order.

    Per delivery: each carried change to every target its own note does not yet
    record, except a change that failed here on its own (its verdict stands).
    Snapshot: the verified revision (the last change) as a whole, naming every
    carried delivery, to the targets its note does not yet record.
    """
    if not changes or not targets:
        return []
    if unit == "snapshot":
        tip = changes[-1]
        done = promoted_targets(notes.get(tip.sha, ()), revision=tip.sha)
        pending = tuple(t for t in targets if t not in done)
        return [Planned(change=tip, targets=pending, carries=tuple(changes))] if pending else []
    out = []
    for change in changes:
        if failed_here(notes.get(change.sha, ())):
            continue
        done = promoted_targets(notes.get(change.sha, ()), revision=change.sha)
        pending = tuple(t for t in targets if t not in done)
        if pending:
            out.append(Planned(change=change, targets=pending, carries=(change,)))
    return out


def read_history(
    repo: CacheRepo,
    revision: str,
    *,
    env: str,
    targets: Sequence[str],
    limit: int = HISTORY_LIMIT,
) -> tuple[list[Change], dict[str, list[Entry]]]:
    """The first-parent chain from `revision` (newest first) and `env`'s notes on it.

    Local reads only. The chain ends at the first older commit that `carried`
    stops at (settled here), or early where the cache lacks a commit: a re-run
    of a settled environment reads two commits, not the whole limit.
    """
    history: list[Change] = []
    notes: dict[str, list[Entry]] = {}
    sha: str | None = revision
    while sha is not None and len(history) < limit:
        try:
            info = repo.commit_info(sha)
        except GitError:
            break
        trailers = delivered_trailers(repo, info)
        parent = info.parents[0] if info.parents else None
        history.append(
            Change(
                sha=sha,
                parent=parent,
                feature=trailers.delivery or fallback_delivery(sha),
                origin_commit=trailers.source_commit,
            )
        )
        try:
            note = repo.read_note(env=env, commit=sha)
        except GitError:
            note = None  # an unreadable note reads as none: at worst a second Superseded entry
        notes[sha] = entries_of(note)
        if len(history) > 1 and _settled(notes[sha], sha=sha, targets=targets):
            break
        sha = parent
    return history, notes
