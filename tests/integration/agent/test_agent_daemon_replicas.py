"""Two replicas of one agent as whole daemons against a real cluster: only one works."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from e2e.controlplane import Cluster
from orchestrator.agent.leader import LeaderElector, Timing
from orchestrator.agent.lifecycle import Daemon, Readiness
from orchestrator.agent.scheduler import RunContext, Scheduler
from orchestrator.kube.client import KubeClient
from orchestrator.kube.lease import LeaseLock
from orchestrator.web.metrics import Metrics

pytestmark = pytest.mark.controlplane

TIMING = Timing(lease_duration=4, renew_deadline=2.5, retry_period=0.3, renew_interval=0.8)


class Log:
    """Who worked when: (identity, start, end) per run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs: list[tuple[str, float, float]] = []

    def work(self, identity: str) -> Callable[[RunContext], None]:
        def run(context: RunContext) -> None:
            start = time.monotonic()
            context.sleep(0.05)  # a short "reconcile"
            with self.lock:
                self.runs.append((identity, start, time.monotonic()))

        return run

    def identities(self, *, since: float = 0.0) -> set[str]:
        with self.lock:
            return {who for who, start, _ in self.runs if start >= since}


def replica(
    cluster: Cluster, *, namespace: str, lease: str, identity: str, log: Log
) -> tuple[Daemon, KubeClient]:
    client = KubeClient.from_kubeconfig(cluster.kubeconfig)
    elector = LeaderElector(
        lock=LeaseLock.in_cluster(client, name=lease, namespace=namespace),
        identity=identity,
        timing=TIMING,
    )
    scheduler = Scheduler(is_leader=elector.is_leader)
    scheduler.add_poll("staging", log.work(identity), interval=0.2)
    daemon = Daemon(
        scheduler=scheduler,
        leadership=elector,
        readiness=Readiness(),
        metrics=Metrics(environment="staging"),
        shutdown_grace=5,
    )
    return daemon, client


@pytest.fixture
def daemons(cluster: Cluster, namespace: str) -> Iterator[tuple[list[Daemon], Log]]:
    lease = f"orchestrator-{uuid.uuid4().hex[:8]}"
    log = Log()
    built = [
        replica(cluster, namespace=namespace, lease=lease, identity=name, log=log)
        for name in ("replica-a", "replica-b")
    ]
    threads: list[threading.Thread] = []
    for daemon, _ in built:
        thread = threading.Thread(target=daemon.run, kwargs={"handle_signals": False})
        thread.start()
        threads.append(thread)
    yield [daemon for daemon, _ in built], log
    for daemon, _ in built:
        daemon.request_stop("test over")
    for thread in threads:
        thread.join(30)
    for _, client in built:
        client.close()


def wait_until(what: str, check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.05)
    return value


def test_only_the_leader_reconciles_and_a_stop_hands_over(
    daemons: tuple[list[Daemon], Log],
) -> None:
    replicas, log = daemons
    wait_until("some work", log.identities, timeout=20)
    time.sleep(3)  # many poll intervals, several renewals
    workers = log.identities()
    assert len(workers) == 1, log.runs
    (leader_id,) = workers
    leader = next(d for d in replicas if d.leadership.identity == leader_id)
    standby = next(d for d in replicas if d is not leader)
    assert leader.check_ready() == (False, "waiting for a first successful contact with: git")
    assert standby.check_ready() == (True, "ok (standby)")

    leader.request_stop("SIGTERM")
    stopped_at = time.monotonic()
    wait_until(
        "the standby works", lambda: standby.leadership.identity in log.identities(), timeout=10
    )
    handover = min(start for who, start, _ in log.runs if who == standby.leadership.identity)
    assert handover - stopped_at < TIMING.lease_duration  # released, not expired
    # The old leader's last run ended before the new leader's first began.
    last_end = max(end for who, _, end in log.runs if who == leader_id)
    assert last_end <= handover
