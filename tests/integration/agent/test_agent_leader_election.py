"""Leader election against a real kube-apiserver: the Lease, threads, and processes.

The processes are real replicas: each has its own client, and the crash is a SIGKILL,
so nothing is released and the survivor can only learn of it from the Lease itself.
"""

from __future__ import annotations

import json
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest

from e2e.controlplane import Cluster
from orchestrator.agent.leader import LeaderElector, Timing
from orchestrator.errors import KubeError
from orchestrator.kube.client import KubeClient
from orchestrator.kube.lease import KubeLeaseBackend, LeaseLock, LeaseRecord

from .agent_lease_candidate import TIMING as PROCESS_TIMING

pytestmark = pytest.mark.controlplane

REPO_ROOT = Path(__file__).resolve().parents[3]
MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
# Scheduling noise on a loaded machine (two shared cores): process start, API latency.
SLACK = 2.0


@pytest.fixture
def client(cluster: Cluster) -> Iterator[KubeClient]:
    created = KubeClient.from_kubeconfig(cluster.kubeconfig)
    yield created
    created.close()


def lease_name() -> str:
    return f"orchestrator-test-{uuid.uuid4().hex[:8]}"


def wait_until(what: str, check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.05)


# -- the Lease itself ------------------------------------------------------------------


def test_acquire_renew_release_on_a_real_lease(client: KubeClient, namespace: str) -> None:
    name = lease_name()
    lock = LeaseLock.in_cluster(client, name=name, namespace=namespace)
    now = datetime.now(UTC)
    held = lock.try_acquire(identity="replica-a", duration_seconds=15, now=now)
    assert held.held_by("replica-a")
    assert held.resource_version

    live = client.get(
        api_version="coordination.k8s.io/v1", kind="Lease", name=name, namespace=namespace
    )
    assert live is not None
    spec = live["spec"]
    assert spec["holderIdentity"] == "replica-a"
    assert spec["leaseDurationSeconds"] == 15
    assert MICRO_TIME.match(spec["renewTime"]), spec["renewTime"]
    assert MICRO_TIME.match(spec["acquireTime"]), spec["acquireTime"]

    later = now + timedelta(seconds=2)
    renewed = lock.renew(held, now=later)
    assert renewed.renew_time == later  # microseconds survive the round trip
    assert renewed.resource_version != held.resource_version

    # Another replica's view: held and not expired, so it is told who holds it.
    seen = lock.try_acquire(identity="replica-b", duration_seconds=15, now=later)
    assert seen.holder == "replica-a"

    # Optimistic concurrency: a write based on a stale read is refused by the server.
    with pytest.raises(KubeError, match="modified"):
        lock.renew(held, now=later + timedelta(seconds=1))

    released = lock.release(renewed, now=later + timedelta(seconds=1))
    assert released.holder == ""
    assert released.duration_seconds == 1
    taken = lock.try_acquire(
        identity="replica-b",
        duration_seconds=15,
        now=later + timedelta(seconds=1),
        may_take_over=lambda record: False,  # free, so no expiry is needed
    )
    assert taken.held_by("replica-b")
    assert taken.transitions == 1


def test_creators_racing_for_a_new_lease_get_one_winner(client: KubeClient, namespace: str) -> None:
    backend = KubeLeaseBackend(client, name=lease_name(), namespace=namespace)
    now = datetime.now(UTC)
    results: list[str] = []
    barrier = threading.Barrier(4)

    def create(identity: str) -> None:
        record = LeaseRecord(
            name=backend.name,
            namespace=namespace,
            holder=identity,
            duration_seconds=15,
            renew_time=now,
        )
        barrier.wait()
        try:
            backend.create(record)
            results.append("won")
        except KubeError:
            results.append("lost")

    threads = [threading.Thread(target=create, args=(f"r{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["lost", "lost", "lost", "won"]


# -- two electors in one process ----------------------------------------------------------


def test_two_electors_never_lead_at_once_and_release_hands_over(
    cluster: Cluster, namespace: str
) -> None:
    name = lease_name()
    timing = Timing(lease_duration=4, renew_deadline=2.5, retry_period=0.3, renew_interval=0.8)
    clients = [KubeClient.from_kubeconfig(cluster.kubeconfig) for _ in range(2)]
    electors = [
        LeaderElector(
            lock=LeaseLock.in_cluster(c, name=name, namespace=namespace),
            identity=f"thread-{i}",
            timing=timing,
        )
        for i, c in enumerate(clients)
    ]
    try:
        for elector in electors:
            elector.start()
        leader = wait_until(
            "a leader", lambda: next((e for e in electors if e.is_leader()), None), timeout=10
        )
        standby = next(e for e in electors if e is not leader)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # through several renewals
            assert [e.is_leader() for e in electors].count(True) <= 1
            time.sleep(0.02)
        assert leader.is_leader()
        assert not standby.is_leader()

        released_at = time.monotonic()
        assert leader.stop(release=True)
        wait_until("the standby takes over", standby.is_leader, timeout=10)
        handover = time.monotonic() - released_at
        assert handover < timing.retry_period + SLACK < timing.lease_duration, handover
        assert not leader.is_leader()
    finally:
        for elector in electors:
            elector.stop(release=True)
        for c in clients:
            c.close()


# -- two replicas as processes --------------------------------------------------------------


class Replica:
    """A candidate process, with its event lines collected by a reader thread."""

    def __init__(self, cluster: Cluster, *, namespace: str, lease: str, identity: str) -> None:
        self.identity = identity
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.agent.agent_lease_candidate",
                str(cluster.kubeconfig),
                namespace,
                lease,
                identity,
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            if line.startswith("{"):
                self.events.put(json.loads(line))

    def wait_for(self, event: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for seen in self.seen:
                if seen["event"] == event:
                    return seen
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.identity}: no {event!r} within {timeout}s")
            try:
                self.seen.append(self.events.get(timeout=remaining))
            except queue.Empty:
                continue

    def drain(self) -> list[dict[str, Any]]:
        while True:
            try:
                self.seen.append(self.events.get_nowait())
            except queue.Empty:
                return list(self.seen)

    def leading_intervals(self, *, until: float) -> list[tuple[float, float]]:
        intervals, start = [], None
        for event in self.drain():
            if event["event"] == "started_leading":
                start = event["t"]
            elif event["event"] == "stopped_leading" and start is not None:
                intervals.append((start, event["t"]))
                start = None
        if start is not None:
            intervals.append((start, until))
        return intervals

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def replicas(cluster: Cluster, namespace: str) -> Iterator[Callable[[str, str], Replica]]:
    started: list[Replica] = []

    def start(lease: str, identity: str) -> Replica:
        replica = Replica(cluster, namespace=namespace, lease=lease, identity=identity)
        started.append(replica)
        return replica

    yield start
    for replica in started:
        replica.stop()


def assert_never_both(a: Replica, b: Replica, *, until: float) -> None:
    for a_start, a_end in a.leading_intervals(until=until):
        for b_start, b_end in b.leading_intervals(until=until):
            assert a_end <= b_start or b_end <= a_start, (a.seen, b.seen)


def test_a_killed_leader_is_replaced_within_the_lease_duration(
    replicas: Callable[[str, str], Replica],
) -> None:
    lease = lease_name()
    a = replicas(lease, "replica-a")
    a.wait_for("started_leading", timeout=30)
    b = replicas(lease, "replica-b")
    b.wait_for("ready", timeout=30)
    # b stands by through several of a's renewals.
    time.sleep(PROCESS_TIMING.lease_duration + 1)
    assert not any(event["event"] == "started_leading" for event in b.drain())

    a.process.send_signal(signal.SIGKILL)  # a crash: no release, no goodbye
    killed_at = time.monotonic()
    a.process.wait(timeout=10)
    took_over = b.wait_for("started_leading", timeout=30)["t"]

    takeover = took_over - killed_at
    print(f"takeover {takeover:.2f}s after SIGKILL (lease {PROCESS_TIMING.lease_duration}s)")
    bound = PROCESS_TIMING.lease_duration + 2 * PROCESS_TIMING.retry_period + SLACK
    assert takeover <= bound, f"takeover after {takeover:.2f}s, bound {bound}s"
    # ... and not before a's claim ran out: a renewed at most renew_interval before dying.
    earliest = PROCESS_TIMING.lease_duration - PROCESS_TIMING.renew_interval - 0.5
    assert takeover >= earliest, f"takeover after only {takeover:.2f}s"
    assert_never_both(a, b, until=killed_at)


def test_a_gracefully_stopped_leader_hands_over_at_once(
    replicas: Callable[[str, str], Replica],
) -> None:
    lease = lease_name()
    a = replicas(lease, "replica-a")
    a.wait_for("started_leading", timeout=30)
    b = replicas(lease, "replica-b")
    b.wait_for("ready", timeout=30)
    time.sleep(1.5)

    a.process.send_signal(signal.SIGTERM)
    assert a.wait_for("exit", timeout=15)["released"] is True
    released_at = a.wait_for("exit", timeout=1)["t"]
    assert a.process.wait(timeout=10) == 0
    took_over = b.wait_for("started_leading", timeout=30)["t"]
    handover = took_over - released_at
    print(f"handover {handover:.2f}s after release")
    # Much sooner than the lease duration a crash would cost.
    assert handover <= PROCESS_TIMING.retry_period + SLACK, f"handover after {handover:.2f}s"
    assert_never_both(a, b, until=time.monotonic())
