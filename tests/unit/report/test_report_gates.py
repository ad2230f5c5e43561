"""Note entries become the commit statuses and pull requests a forge shows."""

from __future__ import annotations

from typing import Any

from orchestrator.forge import CommitStatus, StatusState
from orchestrator.gitbus.protocol import NoteEntry
from orchestrator.record import Entry
from orchestrator.report.gates import gate_statuses, pull_requests

REV = "a" * 40
PROMOTED_COMMIT = "b" * 40
OK, BAD, WAIT = StatusState.SUCCESS, StatusState.FAILURE, StatusState.PENDING


def _entry(phase: str, **fields: Any) -> Entry:
    base: dict[str, Any] = {"environment": "staging", "revision": REV, "delivery": "feature-a"}
    return Entry.of(
        NoteEntry(id="e1", at="t", agent="staging-agent", phase=phase, fields={**base, **fields})
    )


def _states(statuses: tuple[CommitStatus, ...]) -> dict[str, StatusState]:
    return {s.context.removeprefix("orchestrator/staging/"): s.state for s in statuses}


SMOKE = {"name": "smoke", "outcome": "Passed", "outputs": {"finished": "12:00"}}


def test_a_healthy_revision_passed_apply_health_soak_and_each_verification() -> None:
    statuses = gate_statuses(_entry("Healthy", health="Healthy (2/2)", runs=[SMOKE]))
    assert _states(statuses) == {"apply": OK, "health": OK, "soak": OK, "verification/smoke": OK}
    health = next(s for s in statuses if s.context == "orchestrator/staging/health")
    assert health.description == "Healthy (2/2)"


def test_a_promoted_revision_also_passed_the_promotion() -> None:
    promoted = _entry(
        "Promoted",
        runs=[SMOKE],
        promotions=[
            {
                "target": "production",
                "ref": "refs/heads/pr/production/feature-a",
                "commit": PROMOTED_COMMIT,
                "pushed": True,
            }
        ],
    )
    states = _states(gate_statuses(promoted))
    assert states["promotion"] == OK
    assert set(states) == {"apply", "health", "soak", "verification/smoke", "promotion"}


def test_a_closed_gate_is_a_pending_promotion_that_says_when_it_opens() -> None:
    reason = "outside every promotion window; next opens 2026-12-04T09:00:00+00:00"
    statuses = gate_statuses(_entry("Waiting", message=reason, gate=reason))
    promotion = next(s for s in statuses if s.context == "orchestrator/staging/promotion")
    assert promotion.state == WAIT
    assert "next opens 2026-12-04T09:00:00+00:00" in promotion.description


def test_a_failure_fails_its_own_stage_and_passes_the_ones_before() -> None:
    assert _states(gate_statuses(_entry("Failed", stage="ApplyFailed", message="x"))) == {
        "apply": BAD
    }
    assert _states(gate_statuses(_entry("Failed", stage="HealthCheckFailed", message="x"))) == {
        "apply": OK,
        "health": BAD,
    }
    failed_run = {"name": "smoke", "outcome": "Failed", "message": "exit 1"}
    verification = _states(
        gate_statuses(
            _entry("Failed", stage="VerificationFailed", runs=[SMOKE | {"name": "db"}, failed_run])
        )
    )
    assert verification == {
        "apply": OK,
        "health": OK,
        "soak": OK,
        "verification/db": OK,
        "verification/smoke": BAD,
    }
    assert _states(gate_statuses(_entry("Failed", stage="PromotionConflict", message="x"))) == {
        "promotion": BAD
    }


def test_entries_that_settle_no_gate_change_nothing() -> None:
    assert gate_statuses(_entry("RolledBack")) == ()
    assert gate_statuses(_entry("Superseded")) == ()
    no_env = Entry.of(NoteEntry(id="e", at="t", agent="a", phase="Healthy", fields={}))
    assert gate_statuses(no_env) == ()


def test_only_a_pushed_candidate_branch_asks_for_a_pull_request() -> None:
    promotions = [
        {
            "target": "production",
            "ref": "refs/heads/pr/production/feature-a",
            "commit": PROMOTED_COMMIT,
            "pushed": True,
        },
        {"target": "qa", "ref": "refs/heads/qa", "commit": "c" * 40, "pushed": True},
        {"target": "perf", "ref": "refs/heads/pr/perf/feature-a", "commit": None, "pushed": False},
    ]
    entry = _entry("Promoted", health="Healthy (2/2)", runs=[SMOKE], promotions=promotions)
    (wanted,) = pull_requests(entry, pipeline_url="https://orchestrator.example/")
    assert (wanted.head, wanted.base, wanted.commit) == (
        "pr/production/feature-a",
        "production",
        PROMOTED_COMMIT,
    )
    assert wanted.title == "Promote feature-a to production"
    for shown in (
        REV,
        "Healthy (2/2)",
        "`smoke`: Passed (finished: 12:00)",
        "https://orchestrator.example/",
    ):
        assert shown in wanted.body
    assert pull_requests(_entry("Healthy", promotions=promotions)) == ()
