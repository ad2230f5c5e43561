"""Leadership as the daemon sees it: who may write (a fence), timing, and the stand-in.

`LeaderElector` (leader.py) campaigns for a Lease; `AlwaysLeader` stands in for
it when a single replica runs. Both speak the terms defined here.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from orchestrator.errors import LeadershipLost

Callback = Callable[[], None]


class Clock(Protocol):
    """Time as the elector needs it: monotonic for durations, wall time for the Lease."""

    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)


def default_identity() -> str:
    """`$POD_NAME` (downward API) or the hostname, plus a random suffix.

    The suffix keeps two processes apart even when they share a name (a restarted
    container, two agents on one host), which a shared identity would merge into one
    "leader".
    """
    base = os.environ.get("POD_NAME") or socket.gethostname() or "orchestrator"
    return f"{base}_{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class Fence:
    """Who may write now, and in which term: the Lease holder and its transition count."""

    holder: str
    token: int


@dataclass(frozen=True, slots=True)
class Timing:
    """The election's durations, in seconds (see the module docstring)."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    renew_interval: float = 5.0

    def problems(self) -> list[str]:
        found = []
        if min(self.lease_duration, self.renew_deadline, self.retry_period) <= 0:
            found.append("leader durations must be positive")
        if self.renew_deadline >= self.lease_duration:
            found.append(
                "leader.renew_deadline_seconds must be shorter than "
                "leader.lease_duration_seconds (a leader must stop before others may take over)"
            )
        if self.renew_interval >= self.renew_deadline:
            found.append(
                "leader.renew_interval_seconds must be shorter than "
                "leader.renew_deadline_seconds (else one slow renewal costs leadership)"
            )
        if self.retry_period >= self.renew_deadline:
            found.append(
                "leader.retry_period_seconds must be shorter than "
                "leader.renew_deadline_seconds (a failed renewal needs a retry)"
            )
        return found


class AlwaysLeader:
    """Stands in for the elector when leader election is off (a single replica).

    It is leader from `start` to `stop`; it proves nothing about the cluster, so
    it never reports contact (the work does).
    """

    def __init__(self, identity: str = "single-replica") -> None:
        self.identity = identity
        self._leading = threading.Event()
        self._on_started: list[Callback] = []
        self._on_stopped: list[Callback] = []

    def subscribe(
        self,
        *,
        on_started_leading: Callback | None = None,
        on_stopped_leading: Callback | None = None,
        on_contact: Callback | None = None,
    ) -> None:
        if on_started_leading is not None:
            self._on_started.append(on_started_leading)
        if on_stopped_leading is not None:
            self._on_stopped.append(on_stopped_leading)

    def is_leader(self) -> bool:
        return self._leading.is_set()

    def fence(self) -> Fence:
        """A single replica has no rival; it still writes nothing once stopped."""
        if not self._leading.is_set():
            raise LeadershipLost(f"{self.identity} has stopped")
        return Fence(holder=self.identity, token=0)

    def start(self) -> None:
        self._leading.set()
        for callback in self._on_started:
            callback()

    def stop(self, *, release: bool = True, timeout: float = 10.0) -> bool:
        if self._leading.is_set():
            self._leading.clear()
            for callback in self._on_stopped:
                callback()
        return False
