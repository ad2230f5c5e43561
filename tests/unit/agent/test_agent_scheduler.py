"""The scheduler's guarantees, on the real APScheduler with short intervals."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.agent.scheduler import RunContext, Scheduler


def wait_until(what: str, check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.01)


class Probe:
    """A job that records its runs; each run can be held until released."""

    def __init__(self, *, hold: bool = False) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.starts: list[float] = []
        self.contexts: list[RunContext] = []
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def __call__(self, context: RunContext) -> None:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.starts.append(time.monotonic())
            self.contexts.append(context)
        try:
            self.release.wait(10)
        finally:
            with self.lock:
                self.active -= 1

    @property
    def runs(self) -> int:
        with self.lock:
            return len(self.starts)


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    created = Scheduler()
    yield created
    created.shutdown(wait=False)


def test_a_poll_runs_at_start_and_then_on_its_interval(scheduler: Scheduler) -> None:
    probe = Probe()
    scheduler.add_poll("staging", probe, interval=0.2)
    scheduler.start()
    wait_until("three runs", lambda: probe.runs >= 3)
    # Interval jobs run at a fixed rate: one started late is followed by one on time,
    # so single gaps may be short under load, but runs never come faster than the rate.
    span = probe.starts[-1] - probe.starts[0]
    assert span >= 0.2 * (len(probe.starts) - 1) * 0.7, probe.starts
    assert probe.contexts[0].triggered is False


def test_runs_never_overlap(scheduler: Scheduler) -> None:
    slow = Probe(hold=True)
    scheduler.add_poll("staging", slow, interval=0.05)
    other = Probe()
    scheduler.add_drift(other, interval=0.05)
    scheduler.start()
    wait_until("first run", lambda: slow.runs == 1)
    time.sleep(0.4)  # many intervals of both jobs fall due meanwhile
    assert slow.runs == 1
    assert other.runs == 0
    slow.release.set()
    wait_until("more runs", lambda: slow.runs >= 3 and other.runs >= 2)
    assert slow.max_active == 1
    assert other.max_active == 1


def test_a_trigger_while_running_is_not_lost_and_does_not_overlap(scheduler: Scheduler) -> None:
    probe = Probe(hold=True)
    scheduler.add_poll("staging", probe, interval=3600)
    scheduler.start()
    wait_until("first run", lambda: probe.runs == 1)
    assert scheduler.trigger_now("staging")
    assert scheduler.trigger_now("staging")  # two triggers while running: one more run
    time.sleep(0.2)
    assert probe.runs == 1
    assert probe.max_active == 1
    probe.release.set()
    wait_until("the triggered run", lambda: probe.runs == 2)
    time.sleep(0.3)
    assert probe.runs == 2
    assert probe.contexts[1].triggered is True
    assert probe.max_active == 1


def test_a_trigger_on_an_idle_job_runs_it_at_once(scheduler: Scheduler) -> None:
    probe = Probe()
    scheduler.add_poll("staging", probe, interval=3600, run_at_start=False)
    scheduler.start()
    time.sleep(0.1)
    assert probe.runs == 0
    started = time.monotonic()
    assert scheduler.trigger_now("staging")
    wait_until("the triggered run", lambda: probe.runs == 1, timeout=2)
    assert probe.starts[0] - started < 1.0
    assert not scheduler.trigger_now("unknown")


def test_run_at_brings_the_next_run_forward_but_never_back(scheduler: Scheduler) -> None:
    probe = Probe()
    scheduler.add_drift(probe, interval=3600)
    scheduler.start()
    asked = time.monotonic()
    assert scheduler.run_at("drift", datetime.now(UTC) + timedelta(seconds=0.5))
    # A later time than the run now due does not push that run back.
    assert scheduler.run_at("drift", datetime.now(UTC) + timedelta(hours=5))
    wait_until("the run at the given time", lambda: probe.runs == 1, timeout=3)
    assert 0.4 <= probe.starts[0] - asked < 2.0
    time.sleep(0.3)
    assert probe.runs == 1  # then back on its interval
    assert not scheduler.run_at("unknown", datetime.now(UTC))


def test_a_trigger_before_start_is_kept(scheduler: Scheduler) -> None:
    probe = Probe()
    scheduler.add_drift(probe, interval=3600)
    assert scheduler.trigger_now("drift")
    scheduler.start()
    wait_until("the early trigger's run", lambda: probe.runs == 1, timeout=2)


def test_runs_missed_while_running_are_coalesced_into_one(scheduler: Scheduler) -> None:
    probe = Probe(hold=True)
    scheduler.add_poll("staging", probe, interval=0.5)
    scheduler.start()
    wait_until("first run", lambda: probe.runs == 1)
    wait_until("three missed runs", lambda: scheduler.stats("staging").coalesced >= 3, timeout=5)
    probe.release.set()
    wait_until("the coalesced run", lambda: probe.runs >= 2)
    time.sleep(0.15)
    # One run for all that was missed; at most one more from the timer in this window.
    assert probe.runs in (2, 3)
    assert probe.max_active == 1


def test_only_the_leader_works() -> None:
    leading = threading.Event()
    scheduler = Scheduler(is_leader=leading.is_set)
    probe = Probe()
    scheduler.add_poll("staging", probe, interval=0.1)
    scheduler.start()
    try:
        wait_until("skipped runs", lambda: scheduler.stats("staging").skipped_not_leader >= 2)
        assert probe.runs == 0
        leading.set()
        wait_until("a run as leader", lambda: probe.runs >= 1)
    finally:
        scheduler.shutdown(wait=False)


def test_a_failing_job_keeps_its_schedule(scheduler: Scheduler) -> None:
    calls: list[int] = []

    def broken(context: RunContext) -> None:
        calls.append(1)
        raise RuntimeError("reconcile bug")

    scheduler.add_poll("staging", broken, interval=0.1)
    scheduler.start()
    wait_until("runs after a failure", lambda: len(calls) >= 3)
    assert scheduler.stats("staging").failures >= 3


def test_cancel_reaches_the_running_job_and_later_runs_start_clean(scheduler: Scheduler) -> None:
    seen: list[bool] = []
    running = threading.Event()

    def patient(context: RunContext) -> None:
        running.set()
        seen.append(context.sleep(10))  # True: cancelled while waiting

    scheduler.add_poll("staging", patient, interval=3600)
    scheduler.start()
    wait_until("the run", running.is_set)
    scheduler.cancel_running()
    wait_until("the cancelled run ended", lambda: seen == [True])
    running.clear()
    scheduler.trigger_now("staging")
    wait_until("the next run", running.is_set)
    # A fresh context: not cancelled.
    assert scheduler.stats("staging").running
    scheduler.cancel_running()
    wait_until("the second run ended", lambda: len(seen) == 2)


def test_lost_leadership_sets_the_cancel_event_itself() -> None:
    # Work that only watches the Event (e.g. passes it down the pipeline) must stop too.
    leading = threading.Event()
    leading.set()
    scheduler = Scheduler(is_leader=leading.is_set)
    stopped: list[bool] = []
    running = threading.Event()

    def work(context: RunContext) -> None:
        running.set()
        stopped.append(context.cancel.wait(10))

    scheduler.add_poll("staging", work, interval=3600)
    scheduler.start()
    try:
        wait_until("the run", running.is_set)
        leading.clear()
        wait_until("the Event was set", lambda: stopped == [True], timeout=2)
    finally:
        scheduler.shutdown(wait=False)


def test_lost_leadership_is_visible_to_a_running_job() -> None:
    leading = threading.Event()
    leading.set()
    scheduler = Scheduler(is_leader=leading.is_set)
    observed: list[bool] = []
    running = threading.Event()

    def work(context: RunContext) -> None:
        running.set()
        observed.append(context.sleep(10))

    scheduler.add_poll("staging", work, interval=3600)
    scheduler.start()
    try:
        wait_until("the run", running.is_set)
        leading.clear()  # e.g. the renew deadline passed
        wait_until("the run noticed", lambda: observed == [True])
    finally:
        scheduler.shutdown(wait=False)


def test_shutdown_waits_for_the_running_job() -> None:
    scheduler = Scheduler()
    probe = Probe(hold=True)
    scheduler.add_poll("staging", probe, interval=3600)
    scheduler.start()
    wait_until("first run", lambda: probe.runs == 1)
    threading.Timer(0.2, probe.release.set).start()
    assert scheduler.shutdown(wait=True, timeout=5)
    assert not scheduler.busy()
    assert not scheduler.trigger_now("staging")


def test_shutdown_gives_up_on_a_stuck_job_and_says_so() -> None:
    scheduler = Scheduler()
    stuck = threading.Event()
    cancelled: list[bool] = []

    def ignores_cancel(context: RunContext) -> None:
        stuck.wait(10)
        cancelled.append(context.cancelled)

    scheduler.add_poll("staging", ignores_cancel, interval=3600)
    scheduler.start()
    wait_until("the run", lambda: scheduler.stats("staging").running)
    time.sleep(0.05)
    started = time.monotonic()
    assert scheduler.shutdown(wait=True, timeout=0.3) is False
    assert time.monotonic() - started < 2
    assert scheduler.busy()  # its body is still alive (a daemon thread)
    stuck.set()
    wait_until("the body ended", lambda: not scheduler.busy())
    assert cancelled == [True]


def test_bad_jobs_are_refused(scheduler: Scheduler) -> None:
    scheduler.add_poll("staging", Probe(), interval=1)
    with pytest.raises(ValueError, match="exists"):
        scheduler.add_poll("staging", Probe(), interval=1)
    with pytest.raises(ValueError, match="interval"):
        scheduler.add_poll("production", Probe(), interval=0)
    assert scheduler.polls == ["staging"]
