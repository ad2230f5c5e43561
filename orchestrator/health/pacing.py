"""Polling at an interval that a newer revision can interrupt, with injectable time.

Waiting for health, soaking and waiting for verification runs all poll; they
share this so cancellation behaves the same everywhere: checked before every
poll, and a pause ends early when cancelled (at once for a `threading.Event`,
within `_CANCEL_POLL` seconds for a callable). Unit tests inject `clock` and
`sleep` to run a ten-minute wait in no time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Cancel", "Clock", "Pacer", "Sleep"]

Cancel = threading.Event | Callable[[], bool]
Clock = Callable[[], float]
Sleep = Callable[[float], None]

# How often a callable cancel is asked during a pause: fast enough that a newer
# revision never waits on an old one, slow enough to cost nothing.
_CANCEL_POLL = 0.2


@dataclass(frozen=True, slots=True)
class Pacer:
    """`clock` is monotonic seconds; `sleep` None means real, interruptible sleeping."""

    cancel: Cancel | None = None
    clock: Clock = time.monotonic
    sleep: Sleep | None = None

    def cancelled(self) -> bool:
        if self.cancel is None:
            return False
        if isinstance(self.cancel, threading.Event):
            return self.cancel.is_set()
        return bool(self.cancel())

    def pause(self, seconds: float) -> None:
        """Sleep up to `seconds`; return early once cancelled."""
        if seconds <= 0:
            return
        if self.sleep is not None:
            self.sleep(seconds)
        elif isinstance(self.cancel, threading.Event):
            self.cancel.wait(seconds)
        else:
            end = self.clock() + seconds
            while not self.cancelled() and (left := end - self.clock()) > 0:
                time.sleep(min(left, _CANCEL_POLL))
