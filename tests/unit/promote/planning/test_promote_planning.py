"""`decide`: the promotion plan of a verified revision, from policy, record and time alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orchestrator.gitbus.protocol import NoteEntry
from orchestrator.promote.planning.decide import decide, request_for
from orchestrator.promote.policy.schema import EnvironmentPolicy
from orchestrator.promote.revision.deliveries import Change
from orchestrator.record import Entry

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def _sha(n: int) -> str:
    return f"{n:040x}"


def _policy(**raw: Any) -> EnvironmentPolicy:
    return EnvironmentPolicy.model_validate({"promotion": {"to": ["production"]}, **raw})


def _chain() -> list[Change]:
    """feature-b on feature-a on a setup commit, newest first."""
    return [
        Change(sha=_sha(3), parent=_sha(2), feature="feature-b"),
        Change(sha=_sha(2), parent=_sha(1), feature="feature-a"),
        Change(sha=_sha(1), parent=None, feature="setup"),
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


SETTLED = {
    _sha(1): [
        _entry("Healthy", _sha(1)),
        _entry("Promoted", _sha(1), promotions=[{"target": "production"}]),
    ]
}


def test_every_carried_delivery_is_pending_and_the_unnoted_one_superseded() -> None:
    plan = decide(_policy(), revision=_sha(3), history=_chain(), notes=SETTLED, now=NOW)
    assert plan.action == "push"
    assert [p.change.feature for p in plan.promotions] == ["feature-a", "feature-b"]
    assert [c.sha for c in plan.supersede] == [_sha(2)]
    assert plan.pending_targets == ["production"]
    assert plan.gate is not None
    assert plan.gate.open


def test_a_closed_window_waits_until_it_opens() -> None:
    window = {"windows": [{"schedule": "0 9 * * *", "duration": "1h"}]}
    plan = decide(_policy(gates=window), revision=_sha(3), history=_chain(), notes=SETTLED, now=NOW)
    assert plan.action == "wait"
    assert plan.gate is not None
    assert plan.gate.retry_at == NOW.replace(hour=9)


def test_a_freeze_holds_even_inside_a_window() -> None:
    gates = {
        "windows": [{"schedule": "0 8 * * *", "duration": "2h"}],
        "freezes": [{"schedule": "0 7 * * *", "duration": "3h"}],
    }
    plan = decide(_policy(gates=gates), revision=_sha(3), history=_chain(), notes=SETTLED, now=NOW)
    assert plan.action == "wait"
    assert plan.gate is not None
    assert plan.gate.reason.startswith("freeze")


def test_nothing_to_do_when_every_target_has_it() -> None:
    notes = {
        **SETTLED,
        _sha(3): [
            _entry("Healthy", _sha(3)),
            _entry("Promoted", _sha(3), promotions=[{"target": "production"}]),
        ],
        _sha(2): [
            _entry("Superseded", _sha(2)),
            _entry("Promoted", _sha(2), promotions=[{"target": "production"}]),
        ],
    }
    plan = decide(_policy(), revision=_sha(3), history=_chain(), notes=notes, now=NOW)
    assert plan.action == "done"
    assert plan.gate is None  # not looked at: nothing is pending


def test_without_targets_nothing_is_promoted_but_carried_commits_are_still_superseded() -> None:
    plan = decide(EnvironmentPolicy(), revision=_sha(3), history=_chain(), notes=SETTLED, now=NOW)
    assert plan.action == "none"
    assert [c.sha for c in plan.supersede] == [_sha(2)]


def test_the_request_carries_the_policy_and_the_verdict() -> None:
    request = request_for(
        _policy(promotion={"to": ["production"], "paths": ["apps/shop/"]}),
        source_env="staging",
        revision=_sha(3),
        feature="feature-b",
        target="production",
        health="",
        verified_by="staging-agent",
    )
    assert request.paths == ("apps/shop",)
    assert request.health == "Healthy"
    assert request.mode == "pr"
    assert request.target_ref == "refs/heads/pr/production/feature-b"
