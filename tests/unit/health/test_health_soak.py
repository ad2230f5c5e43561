"""soak: healthy for the whole period, re-checked; any regression fails with what and when."""

from __future__ import annotations

import threading

import pytest

from orchestrator.errors import HealthWaitCancelled, SoakFailed
from orchestrator.health import DeliveryHealth, Target, soak

from .health_fakes import FakeClock, FakeCluster, config_map, deployment

WEB = Target(api_version="apps/v1", kind="Deployment", namespace="shop", name="web")
CONF = Target(api_version="v1", kind="ConfigMap", namespace="shop", name="conf")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cluster() -> FakeCluster:
    c = FakeCluster()
    c.put(config_map("conf"))
    c.put(deployment("web", "healthy"))
    return c


def test_healthy_throughout_passes_after_checking_again_and_again(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    seen: list[DeliveryHealth] = []
    health = soak(
        cluster,
        [CONF, WEB],
        duration=60,
        interval=10,
        progress=seen.append,
        clock=clock,
        sleep=clock.sleep,
    )
    assert health.healthy
    assert clock.now == 60
    assert len(seen) == 7  # at 0, 10, ..., 60: the end of the period is checked too


def test_a_regression_during_the_period_fails_naming_object_state_and_time(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    clock.at(25, lambda: cluster.put(deployment("web", "progressing")))
    clock.at(35, lambda: cluster.put(deployment("web", "healthy")))  # too late: already failed

    with pytest.raises(SoakFailed) as failed:
        soak(cluster, [CONF, WEB], duration=60, interval=10, clock=clock, sleep=clock.sleep)

    assert clock.now == 30
    message = str(failed.value)
    assert message.startswith("Deployment/shop/web became Progressing 30.0s into the 60s soak (at ")
    assert message.endswith("): available replicas: 1/2")
    assert failed.value.refs == (WEB.ref,)


def test_a_momentary_healthy_is_not_enough(cluster: FakeCluster, clock: FakeClock) -> None:
    # Healthy at the first look, gone before the end: only re-checking sees it.
    clock.at(
        55,
        lambda: cluster.remove(api_version="v1", kind="ConfigMap", name="conf", namespace="shop"),
    )
    with pytest.raises(SoakFailed, match=r"ConfigMap/shop/conf became Unknown 60\.0s into"):
        soak(cluster, [CONF, WEB], duration=60, interval=20, clock=clock, sleep=clock.sleep)


def test_several_culprits_are_all_named(cluster: FakeCluster, clock: FakeClock) -> None:
    def break_both() -> None:
        cluster.put(deployment("web", "deadline"))
        cluster.remove(api_version="v1", kind="ConfigMap", name="conf", namespace="shop")

    clock.at(5, break_both)
    with pytest.raises(SoakFailed) as failed:
        soak(cluster, [CONF, WEB], duration=30, interval=5, clock=clock, sleep=clock.sleep)
    message = str(failed.value)
    assert message.startswith("Deployment/shop/web became Failed")  # worst first
    assert "ConfigMap/shop/conf is Unknown: not found in the cluster" in message
    assert set(failed.value.refs) == {WEB.ref, CONF.ref}


def test_cancelled_during_the_soak(cluster: FakeCluster, clock: FakeClock) -> None:
    newer = threading.Event()
    clock.at(12, newer.set)
    with pytest.raises(HealthWaitCancelled, match=r"stopped soaking after 15\.0s"):
        soak(cluster, [WEB], duration=300, interval=5, cancel=newer, clock=clock, sleep=clock.sleep)


def test_a_zero_soak_is_one_look(cluster: FakeCluster, clock: FakeClock) -> None:
    assert soak(cluster, [WEB], duration=0, clock=clock, sleep=clock.sleep).healthy
    assert clock.sleeps == []
