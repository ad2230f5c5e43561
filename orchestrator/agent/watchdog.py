"""Liveness that tells the truth: a reconcile stage past its deadline fails /healthz.

The agent reconciles one revision at a time, so a stage that never returns
(a parser spinning on hostile input, a call that hangs) holds the only work
slot while the process still answers HTTP and renews its Lease. The pipeline
reports each stage it enters to a `StageClock`; when a stage outlives its
deadline, /healthz fails, so the kubelet restarts the pod and a standby
replica takes the Lease, and the watchdog notes the stuck revision once, so
`orchestrator status` says why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus

from orchestrator.record import Stage
from orchestrator.web.transport import Request, Response

log = logging.getLogger("orchestrator.agent")


@dataclass(frozen=True, slots=True)
class Overdue:
    """A stage still running past its deadline."""

    revision: str
    stage: Stage
    running: float
    deadline: float

    def describe(self) -> str:
        return (
            f"{self.stage} stage of {self.revision[:12]} still running after "
            f"{self.running:.0f}s, past its deadline of {self.deadline:.0f}s; the agent "
            "reports itself unhealthy so that it is restarted"
        )


class StageClock:
    """Which stage of which revision runs now, and since when. Thread-safe."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self._lock = threading.Lock()
        self._current: tuple[str, Stage, float, float] | None = None

    @contextmanager
    def stage(self, stage: Stage, *, revision: str, deadline: float) -> Iterator[None]:
        """Time the block as `stage` of `revision`, allowed `deadline` seconds."""
        with self._lock:
            outer = self._current
            self._current = (revision, stage, self._now(), deadline)
        try:
            yield
        finally:
            with self._lock:
                self._current = outer

    def overdue(self) -> Overdue | None:
        """The running stage if it is past its deadline."""
        with self._lock:
            current = self._current
        if current is None:
            return None
        revision, stage, since, deadline = current
        running = self._now() - since
        if running <= deadline:
            return None
        return Overdue(revision=revision, stage=stage, running=running, deadline=deadline)


def liveness_handler(clock: StageClock) -> Callable[[Request], Response]:
    """/healthz: ok while no stage is past its deadline (Git and cluster outages do not count)."""

    def healthz(_: Request) -> Response:
        overdue = clock.overdue()
        if overdue is None:
            return Response.text(HTTPStatus.OK, "ok")
        return Response.text(HTTPStatus.SERVICE_UNAVAILABLE, overdue.describe())

    return healthz


class Watchdog:
    """Looks at the clock every `interval` seconds; reports each stuck stage once."""

    def __init__(
        self,
        clock: StageClock,
        *,
        report: Callable[[Overdue], None],
        interval: float = 1.0,
    ) -> None:
        self.clock = clock
        self.report = report
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="orchestrator-watchdog", daemon=True)
        self._reported: tuple[str, Stage] | None = None

    def start(self) -> Watchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def check(self) -> None:
        """One look: report a newly stuck stage."""
        overdue = self.clock.overdue()
        if overdue is None or self._reported == (overdue.revision, overdue.stage):
            return
        self._reported = (overdue.revision, overdue.stage)
        log.error("%s", overdue.describe())
        try:
            self.report(overdue)
        except Exception:  # the report is best effort; /healthz already tells the kubelet
            log.exception("cannot record the stuck stage")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()
