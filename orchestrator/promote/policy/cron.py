"""Crontab schedules for promotion windows and freezes: one parser, used at load and at run.

APScheduler's cron trigger (the scheduler the agent already runs on) answers "when does it
next fire", but APScheduler 3 numbers days of the week from Monday = 0 and reads `7` and
`9` as days too, where crontab(5) means Sunday = 0 or 7. The day-of-week field is therefore
read here, strictly, and handed over as day names, which mean the same to both. The policy
loader builds the trigger once to validate a schedule, so a bad field is refused naming the
field, never at the moment a gate is evaluated.
"""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")


def trigger(schedule: str, *, timezone: str) -> CronTrigger:
    """The trigger for a 5-field crontab schedule; ValueError naming the field that is wrong."""
    fields = schedule.split()
    if len(fields) != len(_FIELDS):
        raise ValueError(f"{schedule!r} is not a 5-field cron expression ({' '.join(_FIELDS)})")
    minute, hour, day, month, day_of_week = fields
    days = crontab_days(day_of_week)
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=days,
            timezone=timezone,
        )
    except ValueError as exc:
        raise ValueError(f"{schedule!r} is not a valid cron expression: {exc}") from None


def crontab_days(field: str) -> str:
    """A crontab day-of-week field (0-7, Sunday = 0 or 7, names, ranges, steps) as day names."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.split(","):
        days.update(_days_of(part, field=field))
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def _days_of(part: str, *, field: str) -> range | set[int]:
    span, slash, step_text = part.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise ValueError(f"day-of-week {field!r}: step {step_text!r} is not a positive number")
        step = int(step_text)
    if span == "*":
        low, high = 0, 6
    elif "-" in span:
        low_text, high_text = span.split("-", 1)
        low, high = _day(low_text, field=field), _day(high_text, field=field)
        if high < low:
            raise ValueError(f"day-of-week {field!r}: range {span!r} runs backwards")
    else:
        low = high = _day(span, field=field)
        if slash:
            high = 6  # crontab: `1/2` is every second day from Monday
    return {day % 7 for day in range(low, high + 1, step)}


def _day(text: str, *, field: str) -> int:
    name = text.lower()
    if name in _DAY_NAMES:
        return _DAY_NAMES.index(name)
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text)
    raise ValueError(
        f"day-of-week {field!r}: {text!r} is not a day (0-7 with Sunday = 0 or 7, or sun-sat)"
    )
