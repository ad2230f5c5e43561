"""What the read model takes from a note: the latest entry's word, every entry's promotions."""

from __future__ import annotations

from orchestrator.gitbus.protocol import NoteDocument, NoteEntry
from orchestrator.status.model import PromotionLink
from orchestrator.status.notes import NoteSummary, summarize


def _entry(i: int, phase: str, **fields: object) -> NoteEntry:
    return NoteEntry(
        id=f"e{i}", at=f"2026-01-01T00:00:0{i}Z", agent="dev-agent", phase=phase, fields=fields
    )


def test_no_note_says_nothing() -> None:
    assert summarize(None) == NoteSummary()


def test_the_latest_entry_speaks_for_the_revision() -> None:
    note = NoteDocument.of(
        [
            _entry(1, "Progressing", stage="apply", delivery="shop"),
            _entry(
                2,
                "Failed",
                stage="health",
                error="deployment not ready",
                health={"Deployment/a/b": "Healthy", "Deployment/a/c": "Degraded"},
                conflicts=["x.yaml", 3],
                deliveries=["shop", "cart"],
                verifiedOn="abc",
            ),
        ]
    )
    said = summarize(note)
    assert said.phase == "Failed"
    assert said.stage == "health"
    assert said.message == "deployment not ready"  # `error` when there is no `message`
    assert said.health == "1/2 healthy"
    assert said.delivery is None  # only the latest entry counts
    assert said.conflicts == ("x.yaml",)
    assert said.carries == ("shop", "cart")
    assert said.verified_on == "abc"
    assert said.agent == "dev-agent"
    assert said.updated_at == "2026-01-01T00:00:02Z"
    assert said.entries == 2


def test_promotions_are_the_union_of_every_entry_and_a_later_word_wins() -> None:
    note = NoteDocument.of(
        [
            _entry(1, "Promoted", promotions=[{"target": "eu", "ref": "r1", "pushed": False}]),
            _entry(
                2,
                "Promoted",
                promotions=[
                    {"target": "eu", "ref": "r1", "commit": "c1", "pushed": True},
                    {"target": "us", "ref": "r2"},
                    {"target": 7, "ref": "bad"},
                    "not an object",
                ],
            ),
        ]
    )
    assert summarize(note).promotions == (
        PromotionLink(target="eu", ref="r1", commit="c1", pushed=True),
        PromotionLink(target="us", ref="r2", commit=None, pushed=False),
    )
