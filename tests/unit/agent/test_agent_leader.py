"""LeaderElector's logic on a fake Lease store and a fake clock (no threads, no sleeps)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from orchestrator.agent.leader import AlwaysLeader, LeaderElector, Timing, default_identity
from orchestrator.errors import LeadershipLost, SettingsError
from orchestrator.kube.lease import LeaseLock

from .agent_fakes import FakeClock, LeaseStore, SharedClock, View

TIMING = Timing(lease_duration=15, renew_deadline=10, retry_period=2, renew_interval=5)


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []

    def started(self) -> None:
        self.events.append("started")

    def stopped(self) -> None:
        self.events.append("stopped")

    def contact(self) -> None:
        self.events.append("contact")


def candidate(
    store: LeaseStore,
    clock: FakeClock,
    identity: str,
    recorder: Recorder | None = None,
) -> tuple[LeaderElector, View]:
    view = View(store)
    recorder = recorder or Recorder()
    elector = LeaderElector(
        lock=LeaseLock(view),
        identity=identity,
        timing=TIMING,
        clock=clock,
        on_started_leading=recorder.started,
        on_stopped_leading=recorder.stopped,
        on_contact=recorder.contact,
    )
    return elector, view


class Sim:
    """Steps electors on one shared timeline, each when its last step said to."""

    def __init__(self, clock: SharedClock, electors: list[LeaderElector]) -> None:
        self.clock = clock
        self.due = {id(e): clock.t for e in electors}
        self.electors = electors
        self.leaders_seen: list[tuple[float, list[str]]] = []

    def run(self, seconds: float, *, frozen: frozenset[str] = frozenset(), dt: float = 0.1) -> None:
        end = self.clock.t + seconds
        while self.clock.t < end:
            for elector in self.electors:
                if elector.identity in frozen:
                    continue
                if self.clock.t >= self.due[id(elector)]:
                    self.due[id(elector)] = self.clock.t + elector.step()
            leaders = [e.identity for e in self.electors if e.is_leader()]
            self.leaders_seen.append((self.clock.t, leaders))
            self.clock.advance(dt)

    def max_simultaneous_leaders(self) -> int:
        return max(len(leaders) for _, leaders in self.leaders_seen)


def test_the_first_candidate_creates_the_lease_and_leads() -> None:
    store, clock, recorder = LeaseStore(), FakeClock(), Recorder()
    elector, _ = candidate(store, clock, "a", recorder)
    assert not elector.is_leader()
    assert elector.step() == TIMING.renew_interval
    assert elector.is_leader()
    assert elector.leading.is_set()
    assert recorder.events == ["contact", "started"]
    assert store.record is not None
    assert store.record.holder == "a"
    assert store.record.duration_seconds == 15


def test_a_leader_renews_on_its_interval_and_not_more_often() -> None:
    store, clock = LeaseStore(), FakeClock()
    elector, _ = candidate(store, clock, "a")
    elector.step()
    writes = store.writes
    clock.advance(1)
    assert elector.step() == pytest.approx(4)  # not due yet: no request
    assert store.writes == writes
    clock.advance(4)
    elector.step()
    assert store.writes == writes + 1


def test_a_standby_waits_a_full_lease_duration_without_change_before_taking_over() -> None:
    store, clock = LeaseStore(), FakeClock()
    a, _ = candidate(store, clock, "a")
    b_recorder = Recorder()
    b, _ = candidate(store, clock, "b", b_recorder)
    a.step()
    assert b.step() == TIMING.retry_period
    assert not b.is_leader()
    assert b.holder == "a"
    # a is gone (no renewals); b first saw this record at t0.
    clock.advance(14.9)
    b.step()
    assert not b.is_leader()
    clock.advance(0.1)
    b.step()
    assert b.is_leader()
    assert store.record is not None
    assert store.record.transitions == 1
    assert b_recorder.events == ["contact", "started"]


def test_renewals_keep_a_standby_waiting_forever() -> None:
    clock = SharedClock()
    store = LeaseStore()
    a, _ = candidate(store, clock.view(), "a")
    b, _ = candidate(store, clock.view(), "b")
    sim = Sim(clock, [a, b])
    sim.run(120)
    assert a.is_leader()
    assert not b.is_leader()
    assert sim.max_simultaneous_leaders() == 1


def test_a_standby_with_a_clock_far_ahead_does_not_steal_a_live_lease() -> None:
    # With wall-clock expiry b would see renewTime + 15s in its past and take over.
    clock = SharedClock()
    store = LeaseStore()
    a, _ = candidate(store, clock.view(), "a")
    b, _ = candidate(store, clock.view(skew=3600), "b")
    sim = Sim(clock, [a, b])
    sim.run(60)
    assert a.is_leader()
    assert not b.is_leader()


def test_a_standby_with_a_clock_far_behind_still_takes_over_an_abandoned_lease() -> None:
    clock = SharedClock()
    store = LeaseStore()
    a, _ = candidate(store, clock.view(), "a")
    b, _ = candidate(store, clock.view(skew=-3600), "b")
    sim = Sim(clock, [a, b])
    sim.run(10)
    sim.run(TIMING.lease_duration + TIMING.retry_period + 0.5, frozen=frozenset({"a"}))
    assert b.is_leader()


def test_a_partitioned_leader_stops_before_the_standby_may_take_over() -> None:
    clock = SharedClock()
    store = LeaseStore()
    a_recorder = Recorder()
    a, a_view = candidate(store, clock.view(), "a", a_recorder)
    b, _ = candidate(store, clock.view(), "b")
    sim = Sim(clock, [a, b])
    sim.run(7)
    assert a.is_leader()
    a_view.down = True  # a can no longer reach the API server; b still can
    sim.run(30)
    assert b.is_leader()
    assert not a.is_leader()
    assert a_recorder.events[-1] == "stopped"
    assert sim.max_simultaneous_leaders() == 1
    # a gave up at its renew deadline; b took over no earlier than a full lease duration
    # after a's last renewal.
    a_last = max(t for t, leaders in sim.leaders_seen if "a" in leaders)
    b_first = min(t for t, leaders in sim.leaders_seen if "b" in leaders)
    assert b_first - a_last >= TIMING.lease_duration - TIMING.renew_deadline - 0.2


def test_leadership_ends_at_the_deadline_even_while_a_request_hangs() -> None:
    store, clock = LeaseStore(), FakeClock()
    a, _ = candidate(store, clock, "a")
    a.step()
    clock.advance(9.9)  # no step: the elector's thread is stuck in a request
    assert a.is_leader()
    clock.advance(0.1)
    assert not a.is_leader()


def test_a_failed_renewal_is_retried_until_the_deadline() -> None:
    store, clock = LeaseStore(), FakeClock()
    recorder = Recorder()
    a, view = candidate(store, clock, "a", recorder)
    a.step()
    clock.advance(5)
    view.down = True
    delay = a.step()
    assert delay == TIMING.retry_period
    assert a.is_leader()
    clock.advance(delay)
    view.down = False
    a.step()  # the retry succeeds: still leader, deadline moved on
    assert a.is_leader()
    assert recorder.events == ["contact", "started"]
    clock.advance(9)
    assert a.is_leader()


def test_a_leader_whose_lease_was_taken_stops_at_once() -> None:
    store, clock = LeaseStore(), FakeClock()
    recorder = Recorder()
    a, _ = candidate(store, clock, "a", recorder)
    a.step()
    # Someone else overwrote the Lease (an operator, a replica that judged it expired).
    assert store.record is not None
    store.update(replace(store.record, holder="intruder"))
    clock.advance(5)
    a.step()
    assert not a.is_leader()
    assert recorder.events[-1] == "stopped"


def test_release_lets_the_standby_take_over_without_waiting() -> None:
    store, clock = LeaseStore(), FakeClock()
    a_recorder = Recorder()
    a, _ = candidate(store, clock, "a", a_recorder)
    b, _ = candidate(store, clock, "b")
    a.step()
    b.step()
    assert a.stop(release=True)
    assert a_recorder.events[-1] == "stopped"
    assert not a.is_leader()
    assert store.record is not None
    assert store.record.holder == ""
    clock.advance(TIMING.retry_period)
    b.step()
    assert b.is_leader()


def test_release_by_a_non_leader_writes_nothing() -> None:
    store, clock = LeaseStore(), FakeClock()
    a, _ = candidate(store, clock, "a")
    b, _ = candidate(store, clock, "b")
    a.step()
    b.step()
    writes = store.writes
    assert not b.stop(release=True)
    assert store.writes == writes


def test_a_failing_callback_does_not_break_the_campaign() -> None:
    store, clock = LeaseStore(), FakeClock()

    def boom() -> None:
        raise RuntimeError("callback bug")

    elector = LeaderElector(
        lock=LeaseLock(View(store)),
        identity="a",
        timing=TIMING,
        clock=clock,
        on_started_leading=boom,
    )
    elector.step()
    assert elector.is_leader()


def test_callbacks_may_ask_is_leader_without_deadlock() -> None:
    store, clock = LeaseStore(), FakeClock()
    answers: list[bool] = []
    elector: LeaderElector | None = None

    def started() -> None:
        assert elector is not None
        answers.append(elector.is_leader())

    elector = LeaderElector(
        lock=LeaseLock(View(store)),
        identity="a",
        timing=TIMING,
        clock=clock,
        on_started_leading=started,
    )
    elector.step()
    assert answers == [True]


@pytest.mark.parametrize(
    ("timing", "problem"),
    [
        (
            Timing(lease_duration=10, renew_deadline=10, retry_period=2, renew_interval=5),
            "renew_deadline",
        ),
        (
            Timing(lease_duration=15, renew_deadline=10, retry_period=2, renew_interval=10),
            "renew_interval",
        ),
        (
            Timing(lease_duration=15, renew_deadline=10, retry_period=10, renew_interval=5),
            "retry_period",
        ),
    ],
)
def test_unsafe_timings_are_refused(timing: Timing, problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        LeaderElector(lock=LeaseLock(LeaseStore()), identity="a", timing=timing)


def test_identities_are_unique_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAME", "agent-7d9f-abcde")
    first, second = default_identity(), default_identity()
    assert first.startswith("agent-7d9f-abcde_")
    assert first != second


# --- fencing ----------------------------------------------------------------------------


def test_the_fence_names_the_holder_and_the_term() -> None:
    store, clock = LeaseStore(), FakeClock()
    a, _ = candidate(store, clock, "a")
    a.step()
    fence = a.fence()
    assert (fence.holder, fence.token) == ("a", 0)


def test_a_frozen_leader_is_fenced_off_after_a_takeover() -> None:
    """The SIGSTOP case: a pauses, b takes the Lease, a wakes inside its deadline clock."""
    store, clock = LeaseStore(), FakeClock()
    a, _ = candidate(store, clock, "a")
    b, _ = candidate(store, clock, "b")
    a.step()
    b.step()
    clock.advance(15)
    b.step()
    assert b.is_leader()
    assert b.fence().token == 1
    with pytest.raises(LeadershipLost, match="not the leader"):
        a.fence()


def test_the_fence_reads_the_lease_even_while_the_local_deadline_holds() -> None:
    store, clock = LeaseStore(), FakeClock()
    a, _ = candidate(store, clock, "a")
    a.step()
    assert store.record is not None
    # Taken over and handed back (a new term) without a noticing: the token differs.
    store.update(replace(store.record, transitions=store.record.transitions + 2))
    assert a.is_leader()
    with pytest.raises(LeadershipLost, match=r"transitions 2.*led in term 0"):
        a.fence()


def test_an_unreadable_lease_fences_off() -> None:
    store, clock = LeaseStore(), FakeClock()
    a, view = candidate(store, clock, "a")
    a.step()
    view.down = True
    with pytest.raises(LeadershipLost, match="cannot read Lease"):
        a.fence()


def test_a_single_replica_fences_itself_once_stopped() -> None:
    single = AlwaysLeader("only")
    single.start()
    assert single.fence().holder == "only"
    single.stop()
    with pytest.raises(LeadershipLost):
        single.fence()
