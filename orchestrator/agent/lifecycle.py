"""The daemon around the work: leadership, scheduling, HTTP, signals, shutdown.

The work itself (poll a ref and reconcile it; re-apply for drift) is injected as
plain callables taking a `RunContext`, so the reconcile pipeline plugs in without
this module knowing it, and tests plug in fakes. Poll jobs are named by the branch
they watch (`{"staging": poll_staging}`): a push webhook for `refs/heads/staging`
triggers exactly that poll.

Shutdown on SIGTERM/SIGINT, in an order that never lets two replicas work at once:

1. stop taking work: /readyz answers 503, timers and triggers stop;
2. let the running job finish, up to `shutdown_grace` seconds; then set its
   cancel Event (it stops at its next safe point) and wait `abandon_grace` more;
3. release the Lease, but only if no work is left running (otherwise let it
   expire: a standby must not start while our job may still write);
4. stop the HTTP server, and return exit code 0.

A second signal skips the waiting in step 2. The Lease is renewed throughout
step 2, so a slow last job cannot cost the leadership it needs.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Final, Protocol

from orchestrator.agent.leader import LeaderElector
from orchestrator.agent.leadership import AlwaysLeader, Callback, Fence
from orchestrator.agent.scheduler import Scheduler, Work
from orchestrator.kube.client import KubeClient
from orchestrator.settings import Settings
from orchestrator.web.metrics import Metrics
from orchestrator.web.server import AgentServer
from orchestrator.web.webhook import Trigger

log = logging.getLogger(__name__)

BRANCH_PREFIX: Final = "refs/heads/"
_TICK: Final = 0.2


class Leadership(Protocol):
    """What the daemon needs of an elector (LeaderElector, or AlwaysLeader)."""

    identity: str

    def subscribe(
        self,
        *,
        on_started_leading: Callback | None = None,
        on_stopped_leading: Callback | None = None,
        on_contact: Callback | None = None,
    ) -> None: ...

    def is_leader(self) -> bool: ...

    def fence(self) -> Fence: ...

    def start(self) -> None: ...

    def stop(self, *, release: bool = True, timeout: float = 10.0) -> bool: ...


class Readiness:
    """What /readyz reports: ready once Git and the cluster have each answered once.

    Contacts are sticky: a later Git outage does not make the pod unready (that
    would only drop it from its Service; the work reports such failures itself).
    A standby is ready once the cluster answered: it needs no Git until it leads,
    and a replica that never became ready would stall every rolling update.
    The work calls `mark_git()` / `mark_cluster()` after its first successful call.
    """

    GIT: Final = "git"
    CLUSTER: Final = "cluster"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._contacts: set[str] = set()
        self._stopping = False

    def mark_git(self) -> None:
        with self._lock:
            self._contacts.add(self.GIT)

    def mark_cluster(self) -> None:
        with self._lock:
            self._contacts.add(self.CLUSTER)

    def set_stopping(self) -> None:
        with self._lock:
            self._stopping = True

    def check(self, *, leader: bool = True) -> tuple[bool, str]:
        with self._lock:
            if self._stopping:
                return False, "shutting down"
            needed = (self.GIT, self.CLUSTER) if leader else (self.CLUSTER,)
            missing = [name for name in needed if name not in self._contacts]
        if missing:
            return False, "waiting for a first successful contact with: " + ", ".join(missing)
        return True, "ok" if leader else "ok (standby)"


def branch_of(ref: str) -> str:
    """`refs/heads/staging` -> `staging`; other refs are returned unchanged."""
    return ref.removeprefix(BRANCH_PREFIX)


def push_trigger(scheduler: Scheduler, *, is_leader: Callable[[], bool] | None = None) -> Trigger:
    """Route a pushed ref to the poll that watches it; no ref means poll everything.

    A standby answers False (its polls would be skipped): the push reaches the
    leader's next interval poll instead, and the sender's log says so honestly.
    """

    def trigger(ref: str | None) -> bool:
        if is_leader is not None and not is_leader():
            log.debug("push to %s: not the leader, nothing to trigger", ref)
            return False
        if ref is None:
            return bool(scheduler.trigger_polls())
        branch = branch_of(ref)
        # A candidate `pr/<env>/<feature>` is watched by the job of its prefix, `pr/<env>`.
        for job in (branch, branch.rpartition("/")[0]):
            if job in scheduler.polls:
                return scheduler.trigger_now(job)
        log.debug("push to %s: no poll watches it", ref)
        return False

    return trigger


@dataclass(frozen=True, slots=True)
class ShutdownReport:
    """How the shutdown went (logged; also what tests assert)."""

    work_finished: bool
    lease_released: bool


class Daemon:
    """Starts and stops the parts in the right order; see the module docstring."""

    def __init__(
        self,
        *,
        scheduler: Scheduler,
        leadership: Leadership,
        readiness: Readiness,
        metrics: Metrics,
        server: AgentServer | None = None,
        shutdown_grace: float = 20.0,
        abandon_grace: float = 5.0,
    ) -> None:
        self.scheduler = scheduler
        self.leadership = leadership
        self.readiness = readiness
        self.metrics = metrics
        self.server = server
        self.shutdown_grace = shutdown_grace
        self.abandon_grace = abandon_grace
        # Written by signal handlers: plain attributes, no locks (a handler that
        # takes a lock the interrupted main thread holds would deadlock).
        self._stop_requests = 0
        self._stop_reason = ""
        leadership.subscribe(
            on_started_leading=self._started_leading,
            on_stopped_leading=self._stopped_leading,
            on_contact=readiness.mark_cluster,
        )

    def _started_leading(self) -> None:
        self.metrics.set_leader(True)
        # A new leader reconciles at once rather than at the next tick.
        self.scheduler.trigger_polls()

    def _stopped_leading(self) -> None:
        self.metrics.set_leader(False)
        self.scheduler.cancel_running()

    def check_ready(self) -> tuple[bool, str]:
        return self.readiness.check(leader=self.leadership.is_leader())

    # -- running ------------------------------------------------------------------------

    def start(self) -> None:
        """Server first (probes answer while the rest starts), then jobs, then the campaign."""
        if self.server is not None:
            self.server.start()
        self.scheduler.start()
        self.leadership.start()
        log.info("agent %s started", self.leadership.identity)

    def request_stop(self, reason: str = "requested") -> None:
        """Ask for a graceful stop; safe from a signal handler. A second call hurries."""
        self._stop_reason = reason
        self._stop_requests += 1

    @property
    def stop_requested(self) -> bool:
        return self._stop_requests > 0

    def _hurry(self) -> bool:
        return self._stop_requests > 1

    def wait_for_stop(self, timeout: float | None = None) -> bool:
        """Block until a stop is requested (True) or `timeout` passes (False)."""
        waited = 0.0
        sleeper = threading.Event()
        while not self.stop_requested:
            if timeout is not None and waited >= timeout:
                return False
            sleeper.wait(_TICK)
            waited += _TICK
        return True

    def run(self, *, handle_signals: bool = True) -> int:
        """Start, serve until SIGTERM/SIGINT (or `request_stop`), shut down; exit code 0."""
        previous = self._install_signal_handlers() if handle_signals else {}
        try:
            self.start()
            self.wait_for_stop()
            log.info("stopping: %s", self._stop_reason)
            report = self.shutdown()
            log.info(
                "stopped (work finished: %s, lease released: %s)",
                report.work_finished,
                report.lease_released,
            )
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return 0

    def shutdown(self) -> ShutdownReport:
        self.readiness.set_stopping()
        self.scheduler.stop_accepting()
        finished = self._wait_idle(self.shutdown_grace)
        if not finished:
            log.warning("work still running after %.0fs: cancelling it", self.shutdown_grace)
            self.scheduler.cancel_running()
            finished = self._wait_idle(self.abandon_grace)
        finished = self.scheduler.shutdown(wait=False) and finished
        if not finished:
            log.warning("abandoning running work; the Lease is left to expire")
        released = self.leadership.stop(release=finished)
        self.metrics.set_leader(False)
        if self.server is not None:
            self.server.stop()
        return ShutdownReport(work_finished=finished, lease_released=released)

    def _wait_idle(self, timeout: float) -> bool:
        remaining = timeout
        while remaining > 0 and not self._hurry():
            if self.scheduler.wait_idle(min(_TICK, remaining)):
                return True
            remaining -= _TICK
        return not self.scheduler.busy()

    def _install_signal_handlers(self) -> dict[int, Callable[..., object] | int | None]:
        if threading.current_thread() is not threading.main_thread():
            log.debug("not the main thread: signal handlers not installed")
            return {}

        def handle(signum: int, frame: FrameType | None) -> None:
            self.request_stop(signal.Signals(signum).name)

        previous: dict[int, Callable[..., object] | int | None] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.getsignal(signum)
            signal.signal(signum, handle)
        return previous


def build_daemon(
    settings: Settings,
    *,
    polls: Mapping[str, Work],
    drift: Work | None = None,
    client: KubeClient | None = None,
    metrics: Metrics | None = None,
    readiness: Readiness | None = None,
    poll_jitter: float | None = None,
    shutdown_grace: float = 20.0,
) -> Daemon:
    """Wire a daemon from settings. `polls` maps each watched branch to its work.

    `client` is needed when leader election is on (the Lease lives in the cluster).
    Pass your own `metrics` and `readiness` to share them with the work.
    """
    metrics = metrics or Metrics(environment=settings.agent.environment)
    readiness = readiness or Readiness()
    leadership: LeaderElector | AlwaysLeader
    if settings.leader.enabled:
        if client is None:
            raise ValueError("leader election needs a KubeClient")
        leadership = LeaderElector.from_settings(settings, client=client)
    else:
        leadership = AlwaysLeader()
    scheduler = Scheduler(is_leader=leadership.is_leader)
    interval = settings.git.poll_interval_seconds
    jitter = poll_jitter if poll_jitter is not None else min(interval * 0.2, 5.0)
    for branch, work in polls.items():
        scheduler.add_poll(branch, work, interval=interval, jitter=jitter)
    if drift is not None:
        scheduler.add_drift(drift, interval=settings.agent.drift_interval_seconds, jitter=jitter)
    server = None
    if settings.server.enabled:
        server = AgentServer.from_settings(
            settings.server,
            webhook_secret=settings.webhook_secret(),
            readiness=lambda: readiness.check(leader=leadership.is_leader()),
            metrics=metrics,
            trigger=push_trigger(scheduler, is_leader=leadership.is_leader),
        )
    return Daemon(
        scheduler=scheduler,
        leadership=leadership,
        readiness=readiness,
        metrics=metrics,
        server=server,
        shutdown_grace=shutdown_grace,
    )
