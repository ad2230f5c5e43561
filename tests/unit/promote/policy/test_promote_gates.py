"""Promotion windows and freezes, on a fixed calendar (2026-11-23 is a Monday)."""

from __future__ import annotations

from datetime import datetime

import pytest

from orchestrator.promote.policy.gates import evaluate
from orchestrator.promote.policy.schema import Gates, Window

WORKDAYS = Window(schedule="0 9 * * 1-5", duration="8h")
CHRISTMAS = Window(schedule="0 0 24 12 *", duration="48h")


@pytest.mark.parametrize(
    ("now", "is_open", "reason"),
    [
        ("2026-11-23T10:00:00+00:00", True, "inside window"),  # Monday morning
        ("2026-11-27T16:59:00+00:00", True, "inside window"),  # Friday afternoon
        ("2026-11-23T17:00:01+00:00", False, "next opens 2026-11-24T09:00:00"),
        ("2026-11-22T10:00:00+00:00", False, "next opens 2026-11-23T09:00:00"),  # Sunday
        ("2026-11-28T10:00:00+00:00", False, "next opens 2026-11-30T09:00:00"),  # Saturday
        ("2026-12-24T10:00:00+00:00", False, "freeze"),  # a Thursday, but frozen
        ("2026-12-25T23:59:00+00:00", False, "until 2026-12-26T00:00:00"),
    ],
)
def test_windows_and_freezes(now: str, is_open: bool, reason: str) -> None:
    verdict = evaluate(Gates(windows=[WORKDAYS], freezes=[CHRISTMAS]), datetime.fromisoformat(now))
    assert verdict.open is is_open
    assert reason in verdict.reason


def test_no_windows_means_always_open_but_freezes_still_hold() -> None:
    assert evaluate(Gates(), datetime.fromisoformat("2026-11-22T03:00:00+00:00")).open
    frozen = evaluate(
        Gates(freezes=[CHRISTMAS]), datetime.fromisoformat("2026-12-24T00:00:00+00:00")
    )
    assert not frozen.open
    assert frozen.retry_at is not None
    assert frozen.retry_at.isoformat() == "2026-12-26T00:00:00+00:00"


def test_sunday_as_seven_and_as_zero() -> None:
    for dow in ("0", "7"):
        gates = Gates(windows=[Window(schedule=f"0 0 * * {dow}", duration="24h")])
        assert evaluate(gates, datetime.fromisoformat("2026-11-22T12:00:00+00:00")).open
        assert not evaluate(gates, datetime.fromisoformat("2026-11-23T12:00:00+00:00")).open


def test_timezone_of_the_window_is_respected() -> None:
    berlin = Window(schedule="0 9 * * 1-5", duration="1h", timezone="Europe/Berlin")
    # 09:30 in Berlin is 08:30 UTC in November.
    assert evaluate(
        Gates(windows=[berlin]), datetime.fromisoformat("2026-11-23T08:30:00+00:00")
    ).open
    assert not evaluate(
        Gates(windows=[berlin]), datetime.fromisoformat("2026-11-23T09:30:00+00:00")
    ).open
