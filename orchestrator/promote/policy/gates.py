"""Time gates on promotion: windows that must be open, freezes that must not be.

A window is a cron schedule plus a duration: it opens at each firing of the schedule
and stays open for the duration. APScheduler's cron trigger (the scheduler the agent
already runs on) answers "when does it next fire after T"; asking from `now - duration`
tells whether a firing happened within the last `duration`, i.e. whether we are inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from orchestrator.promote.policy import cron
from orchestrator.promote.policy.schema import Gates, Window


@dataclass(frozen=True)
class GateVerdict:
    open: bool
    reason: str
    retry_at: datetime | None = None


def _trigger(window: Window) -> CronTrigger:
    return cron.trigger(window.schedule, timezone=window.timezone)


def active_since(window: Window, now: datetime) -> datetime | None:
    """The opening of the instance of `window` that contains `now`, if any."""
    start = now - timedelta(seconds=window.duration_seconds)
    fire: datetime | None = _trigger(window).get_next_fire_time(None, start)
    if fire is not None and fire <= now:
        return fire
    return None


def next_opening(window: Window, now: datetime) -> datetime | None:
    fire: datetime | None = _trigger(window).get_next_fire_time(None, now)
    return fire


def evaluate(gates: Gates, now: datetime) -> GateVerdict:
    """May a promotion happen at `now` (timezone-aware)?"""
    for freeze in gates.freezes:
        since = active_since(freeze, now)
        if since is not None:
            until = since + timedelta(seconds=freeze.duration_seconds)
            return GateVerdict(
                open=False,
                reason=f"freeze {freeze.schedule!r} in force until {until.isoformat()}",
                retry_at=until,
            )
    if not gates.windows:
        return GateVerdict(open=True, reason="no promotion windows configured")
    for window in gates.windows:
        if active_since(window, now) is not None:
            return GateVerdict(open=True, reason=f"inside window {window.schedule!r}")
    openings: Sequence[datetime] = [
        t for t in (next_opening(w, now) for w in gates.windows) if t is not None
    ]
    retry_at = min(openings) if openings else None
    when = f"; next opens {retry_at.isoformat()}" if retry_at else ""
    return GateVerdict(
        open=False, reason=f"outside every promotion window{when}", retry_at=retry_at
    )
