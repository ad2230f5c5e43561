"""Which deliveries a verified revision carries, which need a note, what is left to promote."""

from __future__ import annotations

from typing import Any

from orchestrator.gitbus.protocol import NoteEntry
from orchestrator.promote.revision.deliveries import Change, carried, plan, superseded
from orchestrator.record import Entry


def _sha(n: int) -> str:
    return f"{n:040x}"


def _chain(*features: str) -> list[Change]:
    """A first-parent history, newest first: the last feature is the oldest commit."""
    count = len(features)
    return [
        Change(
            sha=_sha(count - i), parent=_sha(count - i - 1) if count - i > 1 else None, feature=f
        )
        for i, f in enumerate(features)
    ]


def _entry(phase: str, sha: str, **fields: Any) -> Entry:
    note = NoteEntry(
        id=f"{phase}-{sha[:6]}",
        at="2026-01-01T00:00:00Z",
        agent="a",
        phase=phase,
        fields={"revision": sha, **fields},
    )
    return Entry.of(note)


def _promoted(sha: str, *targets: str) -> Entry:
    return _entry("Promoted", sha, promotions=[{"target": t} for t in targets])


def test_every_delivery_since_the_last_promoted_revision_is_carried() -> None:
    history = _chain("feature-c", "feature-b", "feature-a", "setup")
    setup = history[3].sha
    notes = {setup: [_entry("Healthy", setup), _promoted(setup, "production")]}
    found = carried(history, notes, targets=["production"])
    assert [c.feature for c in found] == ["feature-a", "feature-b", "feature-c"]


def test_a_verified_but_unpromoted_revision_does_not_end_the_batch() -> None:
    history = _chain("feature-c", "feature-b", "feature-a")
    b, a = history[1].sha, history[2].sha
    notes = {
        b: [_entry("Waiting", b)],  # held by a gate: its deliveries were never promoted
        a: [_entry("Healthy", a), _promoted(a, "production")],
    }
    assert [c.feature for c in carried(history, notes, targets=["production"])] == [
        "feature-b",
        "feature-c",
    ]
    # Without targets (the last environment) a verdict alone ends it.
    assert [c.feature for c in carried(history, notes, targets=[])] == ["feature-c"]


def test_a_branch_never_verified_here_carries_every_commit_back_to_its_root() -> None:
    # The first reconcile was overtaken twice: nothing on the branch has a note yet.
    history = _chain("feature-b", "feature-a", "setup")
    found = carried(history, {}, targets=["production"])
    assert [c.feature for c in found] == ["setup", "feature-a", "feature-b"]
    assert carried([], {}, targets=[]) == []


def test_without_any_note_on_a_longer_history_the_revision_is_a_baseline() -> None:
    history = _chain("feature-b", "feature-a", "old")[:2]  # the limit ends before the root
    assert history[-1].parent is not None
    assert [c.feature for c in carried(history, {}, targets=["production"])] == ["feature-b"]


def test_without_a_promoted_revision_the_oldest_noted_commit_bounds_the_batch() -> None:
    history = _chain("feature-c", "feature-b", "setup", "older")
    setup = history[2].sha
    notes = {setup: [_entry("Failed", setup)]}  # the setup commit failed its verification
    found = carried(history, notes, targets=["production"])
    assert [c.feature for c in found] == ["setup", "feature-b", "feature-c"]


def test_superseded_is_for_commits_without_a_word_of_their_own() -> None:
    history = _chain("e", "d", "c", "b", "a")
    e, _, c, b, a = (h.sha for h in history)
    notes = {c: [_entry("Superseded", c)], b: [_entry("Failed", b)], a: [_entry("Healthy", a)]}
    chain = list(reversed(history))
    assert [x.feature for x in superseded(chain, notes, revision=e)] == ["d"]


def test_per_delivery_plans_skip_what_was_promoted_already() -> None:
    chain = list(reversed(_chain("c", "b", "a")))
    a, b, _ = (x.sha for x in chain)
    notes = {a: [_promoted(a, "production", "canary")], b: [_promoted(b, "canary")]}
    plans = plan(chain, notes, targets=["canary", "production"], unit="delivery")
    assert [(p.change.feature, p.targets, len(p.carries)) for p in plans] == [
        ("b", ("production",), 1),
        ("c", ("canary", "production"), 1),
    ]
    assert plan(chain, notes, targets=[], unit="delivery") == []


def test_a_delivery_that_failed_on_its_own_is_not_promoted_on_its_own() -> None:
    chain = list(reversed(_chain("c", "b", "a")))
    a, b, c = (x.sha for x in chain)
    notes = {
        a: [_entry("Failed", a, stage="SignatureFailed")],
        # Verified, but its change did not apply: tried again.
        b: [_entry("Healthy", b), _entry("Failed", b, stage="PromotionConflict")],
        c: [_entry("Failed", c, stage="PromotionConflict")],
    }
    plans = plan(chain, notes, targets=["production"], unit="delivery")
    assert [p.change.feature for p in plans] == ["b", "c"]


def test_a_snapshot_is_one_promotion_naming_every_delivery() -> None:
    chain = list(reversed(_chain("c", "b", "a")))
    (planned,) = plan(chain, {}, targets=["production"], unit="snapshot")
    assert planned.change == chain[-1]
    assert [c.feature for c in planned.carries] == ["a", "b", "c"]
    done = {chain[-1].sha: [_promoted(chain[-1].sha, "production")]}
    assert plan(chain, done, targets=["production"], unit="snapshot") == []
