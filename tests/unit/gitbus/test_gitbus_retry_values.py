"""Backoff is bounded in count and size, and jittered."""

from __future__ import annotations

import random

import pytest

from orchestrator.gitbus.retry import RetryPolicy


def test_delays_are_bounded_and_growing_caps() -> None:
    policy = RetryPolicy(attempts=10, base_delay=0.1, max_delay=1.0)
    delays = list(policy.delays(random.Random(7)))
    assert len(delays) == 10
    assert delays[0] == 0.0
    for n, delay in enumerate(delays[1:], start=1):
        assert 0.0 <= delay <= min(1.0, 0.1 * 2 ** (n - 1))


def test_delays_are_jittered() -> None:
    policy = RetryPolicy(attempts=6, base_delay=0.5, max_delay=5.0)
    runs = {tuple(policy.delays(random.Random(seed))) for seed in range(5)}
    assert len(runs) == 5


def test_invalid_policies() -> None:
    bad_policies: list[dict[str, float]] = [
        {"attempts": 0},
        {"base_delay": -1.0},
        {"base_delay": 2.0, "max_delay": 1.0},
    ]
    for bad in bad_policies:
        with pytest.raises(ValueError, match="RetryPolicy needs"):
            RetryPolicy(**bad)  # type: ignore[arg-type]
