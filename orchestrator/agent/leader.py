"""Leader election over a Lease, so that two replicas of one agent are safe.

One replica holds the Lease and reconciles; the others stand by and try to acquire
it every `retry_period`. The leader renews every `renew_interval`. Three durations
keep at most one replica reconciling at a time:

- `lease_duration`: how long a standby waits without seeing the Lease change
  before it takes it over (the leader's promise to others);
- `renew_deadline` (< lease_duration): how long the leader keeps acting as leader
  after its last successful renewal. Past it, `is_leader()` is False at once (even
  while a renewal request hangs), so the leader stops *before* a standby may take
  over. A renewal that fails is retried every `retry_period` until then;
- `retry_period`: the pace of attempts.

Clock skew: a standby never compares the Lease's `renewTime` with its own clock,
because clocks of different machines disagree. It notes, on its own monotonic
clock, when it last saw the Lease *change*, and takes over only after
`lease_duration` without a change (as client-go's leaderelection does). The leader
measures its deadline on its own monotonic clock from just *before* its last
successful renewal was sent, which is no later than any standby can have seen it.
What is left is clock *rate* difference: the ratio lease_duration/renew_deadline is
how much faster one machine's clock may run than another's. A consequence: a
fresh replica waits a full lease_duration before taking over a Lease whose holder
vanished without releasing it; a released Lease (no holder) is taken at once.

Fencing: a leader frozen past its deadline (a long GC pause, a stopped VM) wakes
up believing for a moment that it leads, and compare-and-swap alone does not save
a push then: it prevents lost ref updates, not stale content (the late writer
rebuilds its old promotion on the new tip and pushes it). So every write to the
bus first calls `fence()`, which re-reads the Lease from the API server and
refuses unless this replica still holds it *with the same transition count as
when it acquired it* (the count is the fencing token: it grows with every change
of holder, so a replica that lost the Lease and got it back is a new term). The
token and the replica's identity go into each note. Git cannot check a token
itself, so a pause between `fence()` and the push remains possible; the
promotion rebuild's own check (`orchestrator.promote.write.promotion`) covers that
window for content.
"""

from __future__ import annotations

import logging
import threading

from orchestrator.agent.leadership import (
    AlwaysLeader,
    Callback,
    Clock,
    Fence,
    SystemClock,
    Timing,
    default_identity,
)
from orchestrator.errors import KubeError, LeadershipLost, SettingsError
from orchestrator.kube.client import KubeClient
from orchestrator.kube.lease import LeaseLock, LeaseRecord
from orchestrator.settings import Settings

log = logging.getLogger(__name__)

# The terms of leadership live in leadership.py; callers that only fence their
# writes or time the election keep importing them from here.
__all__ = [
    "AlwaysLeader",
    "Callback",
    "Clock",
    "Fence",
    "LeaderElector",
    "SystemClock",
    "Timing",
    "default_identity",
]


class LeaderElector:
    """Campaigns for one Lease in a background thread; `is_leader()` says who may work.

    Callbacks run on the elector's thread and must return quickly:
    `on_started_leading`, `on_stopped_leading`, and `on_contact` (the first
    successful Lease request, which proves the cluster answers: a readiness signal).
    """

    def __init__(
        self,
        *,
        lock: LeaseLock,
        identity: str,
        timing: Timing | None = None,
        on_started_leading: Callback | None = None,
        on_stopped_leading: Callback | None = None,
        on_contact: Callback | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.timing = timing or Timing()
        problems = self.timing.problems()
        if problems:
            raise SettingsError(problems)
        if not identity:
            raise ValueError("a leader candidate needs an identity")
        self.lock = lock
        self.identity = identity
        self._on_started: list[Callback] = []
        self._on_stopped: list[Callback] = []
        self._on_contact: list[Callback] = []
        self.subscribe(
            on_started_leading=on_started_leading,
            on_stopped_leading=on_stopped_leading,
            on_contact=on_contact,
        )
        self._clock: Clock = clock or SystemClock()
        self._state = threading.Lock()
        self._leading = False
        self._valid_until = 0.0
        self._next_renew = 0.0
        self._record: LeaseRecord | None = None
        self._token: int | None = None  # leaseTransitions when this term began
        self._observed_key: tuple[str, str, str] | None = None
        self._observed_at = 0.0
        self._contacted = False
        self.leading = threading.Event()  # set while leading; for waiting, not deciding
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        client: KubeClient,
        on_started_leading: Callback | None = None,
        on_stopped_leading: Callback | None = None,
        on_contact: Callback | None = None,
    ) -> LeaderElector:
        leader = settings.leader
        return cls(
            lock=LeaseLock.in_cluster(
                client, name=settings.lease_name(), namespace=settings.cluster.namespace
            ),
            identity=leader.identity or default_identity(),
            timing=Timing(
                lease_duration=leader.lease_duration_seconds,
                renew_deadline=leader.renew_deadline_seconds,
                retry_period=leader.retry_period_seconds,
                renew_interval=leader.renew_interval_seconds,
            ),
            on_started_leading=on_started_leading,
            on_stopped_leading=on_stopped_leading,
            on_contact=on_contact,
        )

    def subscribe(
        self,
        *,
        on_started_leading: Callback | None = None,
        on_stopped_leading: Callback | None = None,
        on_contact: Callback | None = None,
    ) -> None:
        """Add callbacks (before `start`); they run on the elector's thread, in order."""
        for callbacks, callback in (
            (self._on_started, on_started_leading),
            (self._on_stopped, on_stopped_leading),
            (self._on_contact, on_contact),
        ):
            if callback is not None:
                callbacks.append(callback)

    # -- questions ------------------------------------------------------------------

    def is_leader(self) -> bool:
        """True only while leading and within the renew deadline (checked on each call)."""
        with self._state:
            return self._leading and self._clock.monotonic() < self._valid_until

    @property
    def holder(self) -> str:
        """The holder last seen in the Lease ("" if none or not yet read)."""
        with self._state:
            return self._record.holder if self._record is not None else ""

    def fence(self) -> Fence:
        """Prove, against the API server now, that this term still holds the Lease.

        Raises LeadershipLost otherwise (also when the Lease cannot be read:
        a write that cannot be fenced is not made).
        """
        where = self._describe()
        with self._state:
            token = self._token
        if not self.is_leader() or token is None:
            raise LeadershipLost(f"{self.identity} is not the leader of Lease {where}")
        try:
            record = self.lock.read()
        except KubeError as exc:
            raise LeadershipLost(f"cannot read Lease {where} to fence a write: {exc}") from exc
        if record is None or not record.held_by(self.identity) or record.transitions != token:
            holder = record.holder if record is not None else "nobody"
            seen = record.transitions if record is not None else "-"
            raise LeadershipLost(
                f"Lease {where} is held by {holder or 'nobody'} (transitions {seen}); "
                f"{self.identity} led in term {token}: write refused"
            )
        return Fence(holder=self.identity, token=token)

    # -- the campaign -----------------------------------------------------------------

    def step(self) -> float:
        """One acquire-or-renew attempt; the seconds to wait before the next one.

        The thread calls this in a loop; tests call it directly with a fake clock.
        Callbacks run after the state lock is released, so they may call `is_leader`.
        """
        events: list[Callback] = []
        try:
            return self._step(events)
        finally:
            for callback in events:
                self._call(callback)

    def _step(self, events: list[Callback]) -> float:
        timing = self.timing
        started = self._clock.monotonic()
        with self._state:
            if self._leading and started >= self._valid_until:
                events += self._lose_locked("the renew deadline passed without a renewal")
            if self._leading and started < self._next_renew:
                return self._next_renew - started
        try:
            record = self.lock.try_acquire(
                identity=self.identity,
                duration_seconds=timing.lease_duration,
                now=self._clock.now(),
                may_take_over=self._may_take_over,
            )
        except KubeError as exc:
            return self._failed(exc, events)
        with self._state:
            if not self._contacted:
                self._contacted = True
                events += self._on_contact
            self._record = record
            self._observe(record)
            if self._stop.is_set():
                # stop() may be releasing concurrently: never start leading now.
                return 0.0
            if record.held_by(self.identity):
                self._valid_until = started + timing.renew_deadline
                self._next_renew = started + timing.renew_interval
                if not self._leading:
                    self._leading = True
                    self._token = record.transitions
                    self.leading.set()
                    log.info("leader: %s acquired Lease %s", self.identity, self._describe())
                    events += self._on_started
                return timing.renew_interval
            if self._leading:
                events += self._lose_locked(f"the Lease is now held by {record.holder or 'nobody'}")
            return timing.retry_period

    def _failed(self, exc: KubeError, events: list[Callback]) -> float:
        """A request failed: a standby tries again later; a leader retries until its deadline."""
        now = self._clock.monotonic()
        with self._state:
            if not self._leading:
                log.debug("leader: acquire attempt failed: %s", exc)
                return self.timing.retry_period
            if now >= self._valid_until:
                events += self._lose_locked(f"renewal kept failing: {exc}")
                return self.timing.retry_period
            log.warning("leader: renewal failed, retrying: %s", exc)
            return min(self.timing.retry_period, self._valid_until - now)

    def _may_take_over(self, record: LeaseRecord) -> bool:
        """Skew-tolerant expiry: unchanged for its duration, by our own monotonic clock."""
        with self._state:
            self._observe(record)
            waited = self._clock.monotonic() - self._observed_at
        return waited >= max(record.duration_seconds, 0)

    def _observe(self, record: LeaseRecord) -> None:
        # Caller holds self._state. Any change (a renewal, a new holder) restarts the wait.
        key = (record.holder, record.resource_version, str(record.renew_time))
        if key != self._observed_key:
            self._observed_key = key
            self._observed_at = self._clock.monotonic()

    def _lose_locked(self, reason: str) -> list[Callback]:
        """Caller holds self._state; returns the callback to run once it is released."""
        if not self._leading:
            return []
        self._leading = False
        self._valid_until = 0.0
        self._token = None
        self.leading.clear()
        log.warning("leader: %s stopped leading: %s", self.identity, reason)
        return list(self._on_stopped)

    def _call(self, callback: Callback) -> None:
        try:
            callback()
        except Exception:
            log.exception("leader: a leadership callback failed")

    def _describe(self) -> str:
        return f"{self.lock.namespace}/{self.lock.name}"

    # -- running and stopping -----------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the elector is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="orchestrator-leader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                delay = self.step()
            except Exception:
                log.exception("leader: unexpected error; retrying")
                delay = self.timing.retry_period
            self._stop.wait(max(0.0, delay))

    def stop(self, *, release: bool = True, timeout: float = 10.0) -> bool:
        """Stop campaigning; with `release`, give the Lease up for others at once.

        Returns whether the Lease was released (False if it was not ours or the
        write failed; it then expires on its own after lease_duration).
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if release:
            return self.release()
        with self._state:
            events = self._lose_locked("stopped")
        for callback in events:
            self._call(callback)
        return False

    def release(self) -> bool:
        """Stop leading first, then clear the holder so a standby need not wait.

        Ends the campaign too (else the next attempt would take the free Lease back).
        """
        self._stop.set()
        with self._state:
            record = self._record
            events = self._lose_locked("releasing the Lease")
        for callback in events:
            self._call(callback)
        if record is None or not record.held_by(self.identity):
            return False
        try:
            released = self.lock.release(record, now=self._clock.now())
        except KubeError as exc:
            log.warning("leader: could not release Lease %s: %s", self._describe(), exc)
            return False
        with self._state:
            self._record = released
        log.info("leader: %s released Lease %s", self.identity, self._describe())
        return True
