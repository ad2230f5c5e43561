"""wait_for_health: healthy, fail fast, timeout naming what is pending, cancel, read errors."""

from __future__ import annotations

import threading
import time

import pytest

from orchestrator.errors import (
    ClusterUnreachable,
    Forbidden,
    HealthCheckFailed,
    HealthTimeout,
    HealthWaitCancelled,
)
from orchestrator.health import DeliveryHealth, HealthStatus, Target, observe, wait_for_health
from orchestrator.objectref import ObjectRef

from .health_fakes import FakeClock, FakeCluster, config_map, deployment

WEB = Target(api_version="apps/v1", kind="Deployment", namespace="shop", name="web")
API = Target(api_version="apps/v1", kind="Deployment", namespace="shop", name="api")
CONF = Target(api_version="v1", kind="ConfigMap", namespace="shop", name="conf")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster()


def test_target_of_a_manifest_and_its_ref() -> None:
    target = Target.of(deployment("web", "healthy"))
    assert target == WEB
    assert target.ref == ObjectRef("apps", "Deployment", "shop", "web")
    assert str(Target.of(config_map("conf"))) == "ConfigMap/shop/conf"


def test_returns_once_every_object_is_healthy(cluster: FakeCluster, clock: FakeClock) -> None:
    cluster.put(config_map("conf"))
    cluster.put(deployment("web", "progressing"))
    clock.at(7, lambda: cluster.put(deployment("web", "healthy")))
    seen: list[DeliveryHealth] = []

    health = wait_for_health(
        cluster,
        [CONF, WEB],
        timeout=300,
        interval=2,
        progress=seen.append,
        clock=clock,
        sleep=clock.sleep,
    )

    assert health.healthy
    assert [o.ref.name for o in health.objects] == ["conf", "web"]  # the apply order
    assert seen[0].status is HealthStatus.PROGRESSING
    assert seen[-1] is health
    assert clock.now == 8  # polled every 2s, noticed at the first poll after 7s


def test_a_failed_object_fails_at_once_not_at_the_timeout(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    cluster.put(deployment("web", "progressing"))
    cluster.put(deployment("api", "progressing"))
    clock.at(5, lambda: cluster.put(deployment("web", "deadline")))

    with pytest.raises(HealthCheckFailed) as failed:
        wait_for_health(
            cluster, [API, WEB], timeout=600, interval=2, clock=clock, sleep=clock.sleep
        )

    assert clock.now == 6
    message = str(failed.value)
    assert "Deployment/shop/web is Failed: progress deadline exceeded" in message
    assert 'ReplicaSet "web-1" has timed out progressing.' in message
    assert "api" not in message
    assert failed.value.refs == (WEB.ref,)


def test_degraded_is_not_certain_so_the_wait_goes_on(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    cluster.put(deployment("web", "replica-failure"))
    clock.at(10, lambda: cluster.put(deployment("web", "healthy")))

    health = wait_for_health(cluster, [WEB], timeout=60, interval=5, clock=clock, sleep=clock.sleep)

    assert health.healthy
    assert clock.now == 10


def test_the_timeout_names_every_pending_object_and_why(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    cluster.put(config_map("conf"))
    cluster.put(deployment("web", "progressing"))

    with pytest.raises(HealthTimeout) as timeout:
        wait_for_health(
            cluster, [CONF, WEB, API], timeout=30, interval=4, clock=clock, sleep=clock.sleep
        )

    assert clock.now == 30  # the last pause is cut to the deadline, not a whole interval
    message = str(timeout.value)
    assert message.startswith("not healthy after 30s: 2 of 3 object(s) still pending: ")
    assert "Deployment/shop/api is Unknown: not found in the cluster" in message
    assert "Deployment/shop/web is Progressing: available replicas: 1/2" in message
    assert "conf" not in message
    assert set(timeout.value.refs) == {WEB.ref, API.ref}


def test_a_missing_object_is_never_healthy(cluster: FakeCluster) -> None:
    health = observe(cluster, [WEB])
    assert health.status is HealthStatus.UNKNOWN
    assert health.objects[0].message == "not found in the cluster"


def test_a_zero_timeout_looks_once(cluster: FakeCluster, clock: FakeClock) -> None:
    cluster.put(deployment("web", "progressing"))
    with pytest.raises(HealthTimeout):
        wait_for_health(cluster, [WEB], timeout=0, clock=clock, sleep=clock.sleep)
    assert cluster.gets == 1
    assert clock.sleeps == []


def test_an_unreachable_api_server_is_unknown_and_the_wait_continues(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    cluster.put(deployment("web", "healthy"))
    cluster.read_error = ClusterUnreachable("https://127.0.0.1:6443: connection refused")

    def recover() -> None:
        cluster.read_error = None

    clock.at(3, recover)
    seen: list[DeliveryHealth] = []
    health = wait_for_health(
        cluster, [WEB], timeout=60, interval=2, progress=seen.append, clock=clock, sleep=clock.sleep
    )
    assert health.healthy
    assert seen[0].objects[0].status is HealthStatus.UNKNOWN
    assert "cannot be read: https://127.0.0.1:6443: connection refused" in seen[0].summary


def test_forbidden_is_the_agents_fault_and_propagates(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    cluster.read_error = Forbidden("get: deployments is forbidden", ref=WEB.ref)
    with pytest.raises(Forbidden):
        wait_for_health(cluster, [WEB], timeout=60, clock=clock, sleep=clock.sleep)


def test_cancelled_by_an_event_when_a_newer_revision_arrives(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    cluster.put(deployment("web", "progressing"))
    newer = threading.Event()
    clock.at(9, newer.set)

    with pytest.raises(HealthWaitCancelled) as cancelled:
        wait_for_health(
            cluster, [WEB], timeout=600, interval=2, cancel=newer, clock=clock, sleep=clock.sleep
        )

    assert clock.now == 10
    assert "stopped waiting for health after 10.0s: cancelled" in str(cancelled.value)
    assert "Progressing: Deployment/shop/web" in str(cancelled.value)


def test_cancelled_by_a_callable_before_the_first_look(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    with pytest.raises(HealthWaitCancelled):
        wait_for_health(
            cluster, [WEB], timeout=600, cancel=lambda: True, clock=clock, sleep=clock.sleep
        )
    assert cluster.gets == 0


def test_a_real_pause_ends_as_soon_as_the_event_is_set(cluster: FakeCluster) -> None:
    cluster.put(deployment("web", "progressing"))
    newer = threading.Event()
    threading.Timer(0.2, newer.set).start()
    started = time.monotonic()
    with pytest.raises(HealthWaitCancelled):
        wait_for_health(cluster, [WEB], timeout=600, interval=30, cancel=newer)
    assert time.monotonic() - started < 5


def test_a_real_pause_polls_a_callable_cancel(cluster: FakeCluster) -> None:
    cluster.put(deployment("web", "progressing"))
    deadline = time.monotonic() + 0.3
    started = time.monotonic()
    with pytest.raises(HealthWaitCancelled):
        wait_for_health(
            cluster, [WEB], timeout=600, interval=30, cancel=lambda: time.monotonic() > deadline
        )
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(("timeout", "interval"), [(-1, 2), (10, 0)])
def test_nonsense_timing_is_refused(cluster: FakeCluster, timeout: float, interval: float) -> None:
    with pytest.raises(ValueError, match=r"negative|positive"):
        wait_for_health(cluster, [WEB], timeout=timeout, interval=interval)
