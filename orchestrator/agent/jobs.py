"""A job as the scheduler runs it: what a run is told, and what is counted."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

# How often a waiting run looks at its cancel flag.
POLL_SECONDS: Final = 0.1


@dataclass(frozen=True, slots=True)
class RunContext:
    """What one run of a job is told: why it runs, and whether it should stop."""

    job: str
    triggered: bool
    cancel: threading.Event
    is_leader: Callable[[], bool]

    @property
    def cancelled(self) -> bool:
        """Stop at the next safe point: shutdown, lost leadership, or a passed deadline."""
        return self.cancel.is_set() or not self.is_leader()

    def sleep(self, seconds: float) -> bool:
        """Wait up to `seconds`; True if cancelled meanwhile (for waits inside work)."""
        deadline = time.monotonic() + max(0.0, seconds)
        while not self.cancelled:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.cancel.wait(min(remaining, POLL_SECONDS))
        return True


Work = Callable[[RunContext], None]


@dataclass(frozen=True, slots=True)
class JobStats:
    """Counters of one job, for tests and debugging."""

    runs: int
    skipped_not_leader: int
    coalesced: int
    failures: int
    running: bool
    pending: bool


class Job:
    """One named job's body and its counters (guarded by the scheduler's lock)."""

    def __init__(self, name: str, func: Work) -> None:
        self.name = name
        self.func = func
        self.running = False
        self.pending = False
        self.runs = 0
        self.skipped_not_leader = 0
        self.coalesced = 0
        self.failures = 0
