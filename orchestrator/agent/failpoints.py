"""Named crash points, so restart safety can be tested at exact places in the pipeline.

`ORCHESTRATOR_FAILPOINTS=after-apply,after-promotion-push` makes the process kill
itself with SIGKILL (no cleanup, no flush: a real crash) when it reaches one of the
named points. Unset in production, where each check is one dict lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "ORCHESTRATOR_FAILPOINTS"
POINTS = frozenset(
    {
        "after-apply",
        "after-health",
        "after-verification",
        "after-note",
        "after-promotion-push",
        "after-delivery-note",
    }
)


def _armed() -> frozenset[str]:
    raw = os.environ.get(ENV, "")
    return frozenset(p.strip() for p in raw.split(",") if p.strip())


def reach(point: str) -> None:
    """Crash here if the point is armed."""
    if point not in POINTS:
        raise ValueError(f"unknown failpoint {point!r}")
    if point in _armed():
        os.kill(os.getpid(), signal.SIGKILL)
