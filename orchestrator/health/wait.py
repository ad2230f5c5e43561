"""Waiting for a delivery to become healthy, and soaking: staying healthy for a while.

`wait_for_health` polls until every object is Healthy, and stops early in the
three cases where waiting longer is pointless:

- an object is Failed (a Deployment past its progress deadline, a failed Job):
  `HealthCheckFailed` at once, naming it and why; Degraded is not enough, since
  a replica failure or a paused rollout can clear without a new delivery;
- the timeout runs out: `HealthTimeout`, naming every object still not healthy
  and what each waits for;
- the caller cancels (a newer revision arrived): `HealthWaitCancelled`.

`soak` starts where the wait ends: the delivery must stay Healthy for
`duration`, re-checked every `interval`. One Healthy look proves little (pods
that crash after a minute look fine at second one), so any non-Healthy
observation in the period fails it with `SoakFailed`, naming the object, what
it became and when. A read error counts too: a soak is proof of health, and an
unreadable period proves nothing.

`progress` sees every observation (for logs, metrics and the note's last
health); `clock` and `sleep` are injectable so unit tests need no real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from orchestrator.errors import HealthCheckFailed, HealthTimeout, HealthWaitCancelled, SoakFailed
from orchestrator.health.observe import Target, observe
from orchestrator.health.pacing import Cancel, Clock, Pacer, Sleep
from orchestrator.health.reader import ClusterReader
from orchestrator.health.rules import HealthRules
from orchestrator.health.status import DeliveryHealth, HealthStatus, ObjectHealth

__all__ = ["Progress", "soak", "wait_for_health"]

Progress = Callable[[DeliveryHealth], None]


def wait_for_health(
    reader: ClusterReader,
    targets: Sequence[Target],
    *,
    timeout: float,
    interval: float = 2.0,
    rules: HealthRules | None = None,
    cancel: Cancel | None = None,
    progress: Progress | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep | None = None,
) -> DeliveryHealth:
    """The delivery's health once every target is Healthy; raises otherwise (see module)."""
    _check_timing(timeout=timeout, interval=interval)
    pacer = Pacer(cancel=cancel, clock=clock, sleep=sleep)
    start = clock()
    deadline = start + timeout
    last: DeliveryHealth | None = None
    while True:
        if pacer.cancelled():
            raise _cancelled("waiting for health", elapsed=clock() - start, last=last)
        last = health = observe(reader, targets, rules=rules)
        if progress is not None:
            progress(health)
        if health.healthy:
            return health
        failed = [o for o in health.objects if o.status is HealthStatus.FAILED]
        if failed:
            raise HealthCheckFailed(
                f"{len(failed)} object(s) failed after {clock() - start:.1f}s: "
                + _describe(failed),
                refs=[o.ref for o in failed],
            )
        remaining = deadline - clock()
        if remaining <= 0:
            pending = health.not_healthy()
            raise HealthTimeout(
                f"not healthy after {timeout:g}s: {len(pending)} of {len(health.objects)} "
                f"object(s) still pending: " + _describe(pending),
                refs=[o.ref for o in pending],
            )
        pacer.pause(min(interval, remaining))


def soak(
    reader: ClusterReader,
    targets: Sequence[Target],
    *,
    duration: float,
    interval: float = 5.0,
    rules: HealthRules | None = None,
    cancel: Cancel | None = None,
    progress: Progress | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep | None = None,
) -> DeliveryHealth:
    """The last observation, when every one within `duration` was Healthy; else SoakFailed."""
    _check_timing(timeout=duration, interval=interval)
    pacer = Pacer(cancel=cancel, clock=clock, sleep=sleep)
    start = clock()
    end = start + duration
    last: DeliveryHealth | None = None
    while True:
        if pacer.cancelled():
            raise _cancelled("soaking", elapsed=clock() - start, last=last)
        last = health = observe(reader, targets, rules=rules)
        if progress is not None:
            progress(health)
        if not health.healthy:
            culprits = health.not_healthy()
            first = culprits[0]
            when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            others = f" (and {_describe(culprits[1:])})" if len(culprits) > 1 else ""
            raise SoakFailed(
                f"{first.ref} became {first.status} {clock() - start:.1f}s into the "
                f"{duration:g}s soak (at {when}): {first.message}{others}",
                refs=[o.ref for o in culprits],
            )
        left = end - clock()
        if left <= 0:
            return health
        pacer.pause(min(interval, left))


def _check_timing(*, timeout: float, interval: float) -> None:
    if timeout < 0:
        raise ValueError(f"a timeout or duration cannot be negative (got {timeout})")
    if interval <= 0:
        raise ValueError(f"the polling interval must be positive (got {interval})")


def _describe(objects: Sequence[ObjectHealth]) -> str:
    return "; ".join(f"{o.ref} is {o.status}: {o.message}" for o in objects)


def _cancelled(doing: str, *, elapsed: float, last: DeliveryHealth | None) -> HealthWaitCancelled:
    seen = f"; last seen: {last.summary}" if last is not None else ""
    return HealthWaitCancelled(f"stopped {doing} after {elapsed:.1f}s: cancelled{seen}")
