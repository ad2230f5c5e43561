"""The typed view of a note entry, and the questions asked of a revision's entries."""

from __future__ import annotations

from typing import Any

from orchestrator.gitbus.protocol import NoteEntry, parse_note
from orchestrator.record import Entry, Phase, PromotionRecord, Report, Stage, entries_of, latest
from orchestrator.record.questions import (
    carried_deliveries,
    delivery_name,
    failed_here,
    promoted_targets,
    promotions_by_target,
    repeats,
    verification,
    waiting_on,
)

REV = "4" * 40


def _entry(phase: str, n: int = 0, **fields: Any) -> Entry:
    note = NoteEntry(
        id=f"{phase.lower()}-{n}",
        at=f"2026-12-03T10:00:0{n}Z",
        agent="staging-agent",
        phase=phase,
        fields={"revision": REV, **fields},
    )
    return Entry.of(note)


def test_what_an_agent_writes_reads_back_typed() -> None:
    report = Report(environment="staging", revision=REV, agent="staging-agent", delivery="shop")
    report.health = "Healthy (2/2)"
    report.promotions = [
        PromotionRecord(target="production", ref="refs/heads/production", commit="c" * 40),
        PromotionRecord(target="qa", ref="", superseded_by="9" * 40, message="newer there"),
    ]
    report.carries = ["shop", "cart"]
    entry = Entry.of(report.entry(Phase.PROMOTED, message="done"))
    assert (entry.phase, entry.environment, entry.delivery) == ("Promoted", "staging", "shop")
    assert entry.health == "Healthy (2/2)"
    assert entry.message == "done"
    assert entry.promotions == tuple(report.promotions)
    assert entry.superseded_by == "9" * 40
    assert carried_deliveries(entry) == ("shop", "cart")


def test_the_bus_format_of_a_promotion_is_unchanged() -> None:
    record = PromotionRecord(target="qa", ref="", superseded_by="9" * 40, message="newer")
    assert record.to_json() == {
        "target": "qa",
        "ref": "",
        "commit": None,
        "pushed": False,
        "supersededBy": "9" * 40,
        "message": "newer",
    }
    pushed = PromotionRecord(target="qa", ref="refs/heads/qa", commit="c" * 40, pushed=True)
    assert pushed.to_json() == {
        "target": "qa",
        "ref": "refs/heads/qa",
        "commit": "c" * 40,
        "pushed": True,
    }


def test_fields_of_the_wrong_type_read_as_absent() -> None:
    entry = _entry("Failed", stage=7, message=["x"], promotions=[{"target": 3}, "junk"])
    assert (entry.stage, entry.message, entry.promotions) == ("", "", ())


def test_a_note_document_reads_in_order() -> None:
    text = (
        '{"schema": "orchestrator.note/v1", "entries": ['
        '{"id": "b", "at": "2026-12-03T10:00:02Z", "agent": "a", "phase": "Promoted"},'
        '{"id": "a", "at": "2026-12-03T10:00:01Z", "agent": "a", "phase": "Healthy"}]}'
    )
    note = parse_note(text)
    assert [e.phase for e in entries_of(note)] == ["Healthy", "Promoted"]
    newest = latest(note)
    assert newest is not None
    assert newest.phase == Phase.PROMOTED
    assert latest(None) is None


def test_a_later_failure_takes_a_verification_back() -> None:
    healthy = _entry("Healthy", 1)
    assert verification([healthy]) == healthy
    assert verification([healthy, _entry("Failed", 2, stage="HealthCheckFailed")]) is None
    assert verification([healthy, _entry("RolledBack", 2)]) is None
    assert verification([healthy, _entry("Failed", 2), _entry("DriftCorrected", 3)]) is not None
    assert verification([_entry("Superseded", 1)]) is None


def test_promoted_and_given_up_targets_are_settled() -> None:
    entries = [
        _entry("Promoted", 1, promotions=[{"target": "production", "ref": "r"}]),
        _entry("Superseded", 2, promotions=[{"target": "qa", "ref": "", "commit": None}]),
        _entry("Failed", 3, promotions=[{"target": "eu"}]),
        _entry("Promoted", 4, revision="5" * 40, promotions=[{"target": "us"}]),
    ]
    assert promoted_targets(entries, revision=REV) == {"production", "qa"}


def test_the_latest_word_on_each_target_wins() -> None:
    first = {"target": "production", "ref": "refs/heads/pr/production/a", "commit": "1" * 40}
    retry = {"target": "production", "ref": "refs/heads/pr/production/a", "commit": "2" * 40}
    entries = [
        _entry("Promoted", 1, promotions=[first, {"target": "qa", "ref": "refs/heads/qa"}]),
        _entry("Promoted", 2, promotions=[retry, {"target": "eu"}]),
    ]
    found = promotions_by_target(entries)
    assert [(p.target, p.commit) for p in found] == [("production", "2" * 40), ("qa", None)]


def test_a_delivery_failed_before_promotion_is_not_promoted_on_its_own() -> None:
    assert failed_here([_entry("Failed", 1, stage=str(Stage.HEALTH))])
    assert not failed_here([_entry("Failed", 1, stage=str(Stage.CONFLICT))])
    assert not failed_here([_entry("Failed", 1, stage="HealthCheckFailed"), _entry("Healthy", 2)])


def test_repeats_are_recognised_word_for_word() -> None:
    failed = _entry("Failed", 1, stage="ApplyFailed", message="boom")
    assert repeats(failed, phase=Phase.FAILED, stage=Stage.APPLY, message="boom")
    assert not repeats(failed, phase=Phase.FAILED, stage=Stage.APPLY, message="other")
    assert not repeats(None, phase=Phase.FAILED, stage=Stage.APPLY, message="boom")
    assert waiting_on([_entry("Waiting", 1, gate="outside")], gate="outside")
    assert not waiting_on([_entry("Waiting", 1, gate="outside")], gate="freeze")


def test_a_delivery_without_a_name_is_named_after_its_commit() -> None:
    assert delivery_name("", None, revision=REV) == "rev-444444444444"
    assert delivery_name("", "shop", revision=REV) == "shop"
    assert delivery_name("cart", "shop", revision=REV) == "cart"
