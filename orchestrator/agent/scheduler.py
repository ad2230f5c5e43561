"""When the agent works: one poll job per watched ref, and a drift job (APScheduler 3).

What this adds to APScheduler, and why:

- Jobs never overlap, with themselves (max_instances=1) or with each other (one
  work slot): a poll and a drift re-apply both write the same cluster.
- A run that was asked for is never lost. `trigger_now` on an idle job moves its
  next run to now; on a running job it sets a pending flag that the run checks at
  its end, and runs once more at once. Interval runs that fall due while the job
  runs are coalesced the same way: however many were missed, one extra run.
- Only the leader works: each run first asks `is_leader()`; a standby's runs are
  skipped without touching Git or the cluster.
- Runs can be cancelled: each gets a `RunContext` whose `cancel` Event is set when
  leadership is lost (within a tenth of a second of `is_leader()` turning False)
  or the agent shuts down. Work checks it between stages, or passes it on.
- A job body runs in a daemon thread that the scheduler waits for; an abandoned
  body (shutdown gave up on it) can therefore never keep the process from exiting.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from orchestrator.agent.jobs import Job, JobStats, RunContext, Work

log = logging.getLogger(__name__)

__all__ = ["DRIFT_JOB", "JobStats", "RunContext", "Scheduler", "Work"]

DRIFT_JOB: Final = "drift"
# How long a worker waits between checks for "give up on this body" and a free slot.
_POLL_SECONDS: Final = 0.1
# A missed run that collides with the end of the previous one is re-queued this soon.
_REQUEUE_SECONDS: Final = 0.05


class _QuietMaxInstances(logging.Filter):
    """APScheduler warns each time a run is skipped because the job still runs; here
    that is expected (the run is coalesced, and counted in JobStats)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


logging.getLogger("apscheduler.scheduler").addFilter(_QuietMaxInstances())


class Scheduler:
    """APScheduler's BackgroundScheduler, with the guarantees listed in the module doc."""

    def __init__(self, *, is_leader: Callable[[], bool] | None = None) -> None:
        self._is_leader: Callable[[], bool] = is_leader or (lambda: True)
        self._lock = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._polls: list[str] = []
        self._bodies: set[threading.Thread] = set()
        self._slot = threading.Lock()
        self._cancel = threading.Event()
        self._abandon = threading.Event()
        self._accepting = True
        self._started = False
        self._aps = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=8)},
        )
        self._aps.add_listener(self._on_max_instances, EVENT_JOB_MAX_INSTANCES)

    # -- jobs -----------------------------------------------------------------------

    def add_poll(
        self,
        name: str,
        func: Work,
        *,
        interval: float,
        jitter: float = 0.0,
        misfire_grace_time: float | None = None,
        run_at_start: bool = True,
    ) -> None:
        """A poll of one watched ref, every `interval` plus up to `jitter` seconds.

        Jitter spreads the agents' fetches so they do not hit the Git server in step.
        A run more than `misfire_grace_time` late (default: one interval) is dropped,
        as the next one is due anyway.
        """
        self._add(
            name,
            func,
            interval=interval,
            jitter=jitter,
            misfire_grace_time=misfire_grace_time,
            run_at_start=run_at_start,
        )
        self._polls.append(name)

    def add_drift(
        self, func: Work, *, interval: float, jitter: float = 0.0, name: str = DRIFT_JOB
    ) -> None:
        """Re-apply the current revision every `interval` (self-heal). The first run is
        one interval after start: the first poll applies anyway."""
        self._add(
            name,
            func,
            interval=interval,
            jitter=jitter,
            misfire_grace_time=None,
            run_at_start=False,
        )

    def _add(
        self,
        name: str,
        func: Work,
        *,
        interval: float,
        jitter: float,
        misfire_grace_time: float | None,
        run_at_start: bool,
    ) -> None:
        if interval <= 0 or jitter < 0:
            raise ValueError("a job needs interval > 0 and jitter >= 0")
        with self._lock:
            if name in self._jobs:
                raise ValueError(f"a job named {name!r} exists already")
            self._jobs[name] = Job(name, func)
        options: dict[str, Any] = {}
        if run_at_start:
            options["next_run_time"] = datetime.now(UTC)
        grace = misfire_grace_time if misfire_grace_time is not None else interval
        self._aps.add_job(
            self._run,
            IntervalTrigger(seconds=interval, jitter=jitter or None, timezone=UTC),
            args=[name],
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, math.ceil(grace)),
            replace_existing=False,
            **options,
        )

    @property
    def polls(self) -> list[str]:
        return list(self._polls)

    def stats(self, name: str) -> JobStats:
        with self._lock:
            job = self._jobs[name]
            return JobStats(
                runs=job.runs,
                skipped_not_leader=job.skipped_not_leader,
                coalesced=job.coalesced,
                failures=job.failures,
                running=job.running,
                pending=job.pending,
            )

    # -- control --------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            self._started = True
            early = [job.name for job in self._jobs.values() if job.pending]
        self._aps.start()
        for name in early:  # triggered before the start
            self._run_soon(name, delay=0.0)

    def trigger_now(self, name: str) -> bool:
        """Run `name` as soon as possible; False if unknown or shutting down.

        Never starts a second, overlapping run: a running job runs again when done.
        """
        with self._lock:
            job = self._jobs.get(name)
            if job is None or not self._accepting:
                return False
            job.pending = True
            if job.running or not self._started:
                return True
        self._run_soon(name, delay=0.0)
        return True

    def run_at(self, name: str, when: datetime) -> bool:
        """Run `name` at `when` too (a promotion gate opens then); False if unknown or stopping.

        Only ever brings the next run forward: if the job is due before `when`
        anyway, nothing changes (that run will see the gate and ask again).
        """
        with self._lock:
            if name not in self._jobs or not self._accepting:
                return False
        job = self._aps.get_job(name)
        if job is None:
            return False
        due = getattr(job, "next_run_time", None)
        if due is not None and due <= when:
            return True
        try:
            self._aps.modify_job(name, next_run_time=when)
        except JobLookupError:
            return False
        log.info("scheduler: %s brought forward to %s", name, when.isoformat())
        return True

    def trigger_polls(self) -> list[str]:
        """Trigger every poll job (a push to an unknown ref, a new leader)."""
        return [name for name in self._polls if self.trigger_now(name)]

    def cancel_running(self) -> None:
        """Tell runs in progress to stop at their next safe point (leadership lost).

        Later runs get a fresh, unset Event, unless the scheduler is shutting down.
        """
        with self._lock:
            current = self._cancel
            if self._accepting:
                self._cancel = threading.Event()
        current.set()

    def stop_accepting(self) -> None:
        """No new runs from now on (timers paused, triggers refused); running ones go on."""
        with self._lock:
            self._accepting = False
            started = self._started
        if started:
            self._aps.pause()

    def busy(self) -> bool:
        with self._lock:
            return self._busy_locked()

    def _busy_locked(self) -> bool:
        return any(job.running for job in self._jobs.values()) or any(
            body.is_alive() for body in self._bodies
        )

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait for runs in progress to end; True if none is left."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._busy_locked(), timeout)

    def shutdown(self, *, wait: bool = True, timeout: float | None = None) -> bool:
        """Stop for good. `wait`: let running work finish (up to `timeout`); otherwise,
        or once the timeout is spent, cancel it and stop waiting for it.

        Returns True if no work was left running (safe to hand the Lease to others).
        """
        self.stop_accepting()
        idle = self.wait_idle(timeout) if wait else not self.busy()
        if not idle:
            self.cancel_running()
            self._abandon.set()
        with self._lock:
            started, self._started = self._started, False
        if started:
            self._aps.shutdown(wait=False)
        return idle

    # -- one run ------------------------------------------------------------------------

    def _run(self, name: str) -> None:
        """The APScheduler job: loop while runs are pending, one body at a time."""
        with self._lock:
            job = self._jobs[name]
            if job.running:  # belt and braces: APScheduler's max_instances=1 prevents this
                job.pending = True
                return
            if not self._accepting:
                return
            job.running = True
        try:
            while self._take_slot():
                try:
                    self._run_once(job)
                finally:
                    if not self._abandon.is_set():
                        self._slot.release()
                with self._lock:
                    if not job.pending or not self._accepting:
                        return
        finally:
            with self._lock:
                job.running = False
                self._lock.notify_all()

    def _take_slot(self) -> bool:
        while not self._slot.acquire(timeout=_POLL_SECONDS):
            if not self._accepting or self._abandon.is_set():
                return False
        if self._accepting:
            return True
        self._slot.release()
        return False

    def _run_once(self, job: Job) -> None:
        with self._lock:
            triggered, job.pending = job.pending, False
            cancel = self._cancel
        if not self._is_leader():
            with self._lock:
                job.skipped_not_leader += 1
            log.debug("scheduler: %s skipped: not the leader", job.name)
            return
        context = RunContext(
            job=job.name, triggered=triggered, cancel=cancel, is_leader=self._is_leader
        )
        done = threading.Event()

        def body() -> None:
            try:
                job.func(context)
            except Exception:
                with self._lock:
                    job.failures += 1
                log.exception("scheduler: job %s failed", job.name)
            finally:
                with self._lock:
                    job.runs += 1
                    self._bodies.discard(thread)
                    self._lock.notify_all()
                done.set()

        thread = threading.Thread(target=body, name=f"orchestrator-{job.name}", daemon=True)
        with self._lock:
            self._bodies.add(thread)
        thread.start()
        while not done.wait(_POLL_SECONDS):
            if not cancel.is_set() and not self._is_leader():
                # The renew deadline passed (maybe while the elector's request hangs):
                # make the Event alone enough for work that only watches `cancel`.
                self.cancel_running()
            if self._abandon.is_set():
                log.warning("scheduler: abandoned a running %s at shutdown", job.name)
                return

    # -- missed runs ------------------------------------------------------------------------

    def _on_max_instances(self, event: JobSubmissionEvent) -> None:
        """APScheduler skipped a due run because the job was still running: coalesce it."""
        name = str(event.job_id)
        with self._lock:
            job = self._jobs.get(name)
            if job is None or not self._accepting:
                return
            log.debug("scheduler: %s still running; a missed run is coalesced", name)
            job.coalesced += 1
            job.pending = True
            still_running = job.running
        if not still_running:
            # The run ended just before APScheduler noticed: it would not look again.
            self._run_soon(name, delay=_REQUEUE_SECONDS)

    def _run_soon(self, name: str, *, delay: float) -> None:
        try:
            self._aps.modify_job(name, next_run_time=datetime.now(UTC) + timedelta(seconds=delay))
        except JobLookupError:
            log.debug("scheduler: job %s is gone", name)
