"""The rollback target: the newest revision the agent verified itself, on the failed line."""

from __future__ import annotations

from orchestrator.kube.rollback import rollback_target

# main: a - b - c - d (failed); x is on another line.
HISTORY = {"a": set(), "b": {"a"}, "c": {"a", "b"}, "d": {"a", "b", "c"}, "x": {"a"}}


def is_ancestor(ancestor: str, descendant: str) -> bool:
    return ancestor in HISTORY[descendant]


def test_the_newest_verified_ancestor_is_chosen() -> None:
    assert rollback_target(["c", "b", "a"], failed="d", is_ancestor=is_ancestor) == "c"


def test_only_verified_revisions_count_whatever_notes_say() -> None:
    # c carries a (forged) Healthy note, but the agent never verified it.
    assert rollback_target(["b", "a"], failed="d", is_ancestor=is_ancestor) == "b"


def test_another_line_of_history_is_never_a_target() -> None:
    assert rollback_target(["x", "a"], failed="d", is_ancestor=is_ancestor) == "a"


def test_the_failed_revision_itself_and_an_empty_record_give_nothing() -> None:
    assert rollback_target(["d"], failed="d", is_ancestor=is_ancestor) is None
    assert rollback_target([], failed="d", is_ancestor=is_ancestor) is None
