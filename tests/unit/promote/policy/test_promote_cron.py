"""One crontab reading for windows and freezes: what the loader accepts is what the gates run."""

from __future__ import annotations

from datetime import datetime

import pytest

from orchestrator.errors import PolicyError
from orchestrator.promote.policy import cron
from orchestrator.promote.policy.gates import evaluate
from orchestrator.promote.policy.schema import Gates, Window, parse_policy


@pytest.mark.parametrize(
    ("field", "days"),
    [
        ("*", "*"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("5-7", "sun,fri,sat"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("SAT,sun", "sun,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("1/2", "mon,wed,fri"),
        ("0-6/3", "sun,wed,sat"),
    ],
)
def test_crontab_days_become_day_names(field: str, days: str) -> None:
    assert cron.crontab_days(field) == days


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 9 * * 9", "day-of-week '9': '9' is not a day"),
        ("0 9 * * 1-5x", "day-of-week '1-5x': '5x' is not a day"),
        ("0 9 * * 5-1", "range '5-1' runs backwards"),
        ("0 9 * * */0", "step '0' is not a positive number"),
        ("0 9 * * funday", "'funday' is not a day"),
        ("0 25 * * *", "not a valid cron expression"),
        ("0 9 * *", "not a 5-field cron expression"),
    ],
)
def test_a_bad_schedule_is_refused_with_the_field(schedule: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cron.trigger(schedule, timezone="UTC")


def test_the_policy_loader_refuses_a_bad_day_of_week_naming_the_setting() -> None:
    data = b"""
apiVersion: orchestrator.dev/v1alpha1
kind: PromotionPolicy
environments:
  production:
    gates:
      windows: [{schedule: "0 9 * * 9", duration: 1h}]
"""
    with pytest.raises(PolicyError) as caught:
        parse_policy(data)
    assert "environments.production.gates.windows.0.schedule" in str(caught.value)
    assert "day-of-week '9'" in str(caught.value)


def test_a_window_means_at_run_time_what_the_loader_read() -> None:
    """2026-11-23 is a Monday: `1-5` must open on Monday and stay shut on Saturday."""
    gates = Gates(windows=[Window(schedule="0 9 * * 1-5", duration="8h")])
    assert evaluate(gates, datetime.fromisoformat("2026-11-23T10:00:00+00:00")).open
    assert not evaluate(gates, datetime.fromisoformat("2026-11-28T10:00:00+00:00")).open
