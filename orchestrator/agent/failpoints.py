"""Named crash points, so restart safety can be tested at exact places in the pipeline.

`ORCHESTRATOR_FAILPOINTS=after-apply,after-promotion-push` makes the process kill
itself with SIGKILL (no cleanup, no flush: a real crash) when it reaches one of the
named points. `<point>=stop` freezes it with SIGSTOP instead (a long GC pause, a
stopped VM): every thread halts until someone sends SIGCONT, and the process
then carries on from that very point. A `stall-*` point blocks only the thread
that reaches it, for good (a stage that never returns). Unset in production,
where each check is one dict lookup.
"""

from __future__ import annotations

import os
import signal
import time

ENV = "ORCHESTRATOR_FAILPOINTS"
POINTS = frozenset(
    {
        "after-apply",
        "after-health",
        "after-verification",
        "after-note",
        "before-promotion-push",
        "after-promotion-push",
        "stall-build",
        "after-delivery-note",
    }
)
_ACTIONS = {"crash": signal.SIGKILL, "stop": signal.SIGSTOP}


def _armed() -> dict[str, str]:
    raw = os.environ.get(ENV, "")
    armed: dict[str, str] = {}
    for item in raw.split(","):
        point, _, action = item.strip().partition("=")
        if point:
            armed[point] = action.strip() or "crash"
    return armed


def reach(point: str) -> None:
    """Crash (or freeze) here if the point is armed."""
    if point not in POINTS:
        raise ValueError(f"unknown failpoint {point!r}")
    action = _armed().get(point)
    if action is None:
        return
    if point.startswith("stall-"):
        while True:
            time.sleep(3600)
    if action not in _ACTIONS:
        raise ValueError(f"unknown failpoint action {action!r} for {point} (crash or stop)")
    os.kill(os.getpid(), _ACTIONS[action])
