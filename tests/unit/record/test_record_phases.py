"""Small decisions about a revision's record: which failures a drift run looks at again."""

from __future__ import annotations

import pytest

from orchestrator.record import Stage, retry_drift_failure


@pytest.mark.parametrize("stage", [Stage.APPLY, Stage.PRUNE, Stage.HEALTH, Stage.VERIFICATION])
def test_a_verified_revision_looks_again_before_failing(stage: Stage) -> None:
    assert retry_drift_failure(stage=stage, verified=True, attempt=0, retries=2)
    assert retry_drift_failure(stage=stage, verified=True, attempt=1, retries=2)
    assert not retry_drift_failure(stage=stage, verified=True, attempt=2, retries=2)


def test_a_new_revision_fails_at_once() -> None:
    assert not retry_drift_failure(stage=Stage.HEALTH, verified=False, attempt=0, retries=2)


@pytest.mark.parametrize("stage", [Stage.POLICY, Stage.SIGNATURE, Stage.BUILD, Stage.NOT_ALLOWED])
def test_what_git_says_is_not_looked_at_again(stage: Stage) -> None:
    assert not retry_drift_failure(stage=stage, verified=True, attempt=0, retries=2)


def test_retries_can_be_switched_off() -> None:
    assert not retry_drift_failure(stage=Stage.HEALTH, verified=True, attempt=0, retries=0)
