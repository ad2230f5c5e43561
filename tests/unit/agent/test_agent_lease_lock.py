"""LeaseLock's decisions and the Lease object it writes, on an in-memory store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.errors import KubeError
from orchestrator.kube.lease import (
    LeaseLock,
    LeaseRecord,
    format_micro_time,
    parse_micro_time,
)

from .agent_fakes import EPOCH, LeaseStore


def test_micro_time_has_six_digits_and_z() -> None:
    moment = EPOCH + timedelta(seconds=1.5)
    assert format_micro_time(moment) == "2025-01-01T00:00:01.500000Z"
    assert parse_micro_time("2025-01-01T00:00:01.500000Z") == moment
    assert parse_micro_time("2025-01-01T00:00:01Z") == EPOCH + timedelta(seconds=1)
    assert parse_micro_time("") is None
    with pytest.raises(ValueError, match="aware"):
        format_micro_time(moment.replace(tzinfo=None))


def test_record_round_trips_through_the_object() -> None:
    record = LeaseRecord(
        name="orchestrator-staging",
        namespace="system",
        holder="a",
        duration_seconds=15,
        acquire_time=EPOCH,
        renew_time=EPOCH + timedelta(seconds=5),
        transitions=2,
        resource_version="42",
    )
    obj = record.to_object()
    assert obj["apiVersion"] == "coordination.k8s.io/v1"
    assert obj["metadata"]["resourceVersion"] == "42"
    assert obj["spec"]["renewTime"] == "2025-01-01T00:00:05.000000Z"
    assert LeaseRecord.from_object(obj) == record
    assert record.expires_at == EPOCH + timedelta(seconds=20)
    assert not record.expired(EPOCH + timedelta(seconds=19))
    assert record.expired(EPOCH + timedelta(seconds=20))


def test_acquire_creates_then_renews_then_reports_the_holder() -> None:
    store = LeaseStore()
    lock = LeaseLock(store)
    first = lock.try_acquire(identity="a", duration_seconds=15, now=EPOCH)
    assert first.held_by("a")
    assert first.duration_seconds == 15
    assert first.transitions == 0
    renewed = lock.try_acquire(identity="a", duration_seconds=15, now=EPOCH + timedelta(seconds=5))
    assert renewed.renew_time == EPOCH + timedelta(seconds=5)
    assert renewed.acquire_time == EPOCH
    other = lock.try_acquire(identity="b", duration_seconds=15, now=EPOCH + timedelta(seconds=6))
    assert other.holder == "a"


def test_an_expired_lease_is_taken_over_and_counts_a_transition() -> None:
    store = LeaseStore()
    lock = LeaseLock(store)
    lock.try_acquire(identity="a", duration_seconds=15, now=EPOCH)
    taken = lock.try_acquire(identity="b", duration_seconds=15, now=EPOCH + timedelta(seconds=15))
    assert taken.held_by("b")
    assert taken.transitions == 1
    assert taken.acquire_time == EPOCH + timedelta(seconds=15)


def test_the_caller_decides_expiry_when_it_says_so() -> None:
    store = LeaseStore()
    lock = LeaseLock(store)
    lock.try_acquire(identity="a", duration_seconds=15, now=EPOCH)
    far_later = EPOCH + timedelta(hours=1)
    kept = lock.try_acquire(
        identity="b", duration_seconds=15, now=far_later, may_take_over=lambda record: False
    )
    assert kept.holder == "a"


def test_a_released_lease_is_free_at_once() -> None:
    store = LeaseStore()
    lock = LeaseLock(store)
    held = lock.try_acquire(identity="a", duration_seconds=15, now=EPOCH)
    released = lock.release(held, now=EPOCH + timedelta(seconds=1))
    assert released.holder == ""
    assert released.duration_seconds == 1
    taken = lock.try_acquire(
        identity="b",
        duration_seconds=15,
        now=EPOCH + timedelta(seconds=1),
        may_take_over=lambda record: False,  # no expiry needed: nobody holds it
    )
    assert taken.held_by("b")


def test_every_write_is_conditional_on_what_was_read() -> None:
    store = LeaseStore()
    lock = LeaseLock(store)
    stale = lock.try_acquire(identity="a", duration_seconds=15, now=EPOCH)
    lock.renew(stale, now=EPOCH + timedelta(seconds=1))
    with pytest.raises(KubeError, match="modified"):
        lock.renew(stale, now=EPOCH + timedelta(seconds=2))
    with pytest.raises(KubeError, match="modified"):
        lock.release(stale, now=EPOCH + timedelta(seconds=2))


def test_two_creators_race_and_one_loses() -> None:
    store = LeaseStore()
    lock = LeaseLock(store)
    lock.try_acquire(identity="a", duration_seconds=15, now=EPOCH)
    with pytest.raises(KubeError, match="already exists"):
        store.create(LeaseRecord(name="x", namespace="y", holder="b"))


def test_durations_become_whole_seconds_rounded_up() -> None:
    lock = LeaseLock(LeaseStore())
    record = lock.try_acquire(identity="a", duration_seconds=2.2, now=EPOCH)
    assert record.duration_seconds == 3
    with pytest.raises(ValueError, match="positive"):
        lock.try_acquire(identity="a", duration_seconds=0, now=EPOCH)
    with pytest.raises(ValueError, match="identity"):
        lock.try_acquire(identity="", duration_seconds=1, now=EPOCH)
