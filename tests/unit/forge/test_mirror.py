"""Mirroring statuses posts exactly what the forge does not show yet."""

from __future__ import annotations

from orchestrator.forge import CommitStatus, StatusState
from orchestrator.forge.mirror import out_of_date

HEALTH = CommitStatus(context="orchestrator/staging/health", state=StatusState.SUCCESS)
SOAK = CommitStatus(
    context="orchestrator/staging/soak", state=StatusState.PENDING, description="until 14:05"
)


def test_nothing_is_out_of_date_when_the_forge_shows_every_verdict() -> None:
    assert out_of_date([HEALTH, SOAK], {s.context: s for s in (HEALTH, SOAK)}) == ()


def test_missing_and_changed_statuses_are_out_of_date() -> None:
    shown = {SOAK.context: CommitStatus(context=SOAK.context, state=StatusState.PENDING)}
    assert out_of_date([HEALTH, SOAK], shown) == (HEALTH, SOAK)


def test_statuses_of_other_contexts_on_the_forge_are_left_alone() -> None:
    other = CommitStatus(context="ci/build", state=StatusState.FAILURE)
    assert out_of_date([HEALTH], {other.context: other, HEALTH.context: HEALTH}) == ()
