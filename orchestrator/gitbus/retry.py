"""Bounded, jittered exponential backoff for compare-and-swap pushes.

Writers that lost a race all retry; full jitter spreads them out so the next
round has one winner instead of the same pile-up, and the bound turns a ref
that never settles into an error instead of a hung agent.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# Told of every compare-and-swap lost and about to be retried: (ref, the attempt that lost).
LostRace = Callable[[str, int], None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most `attempts` tries; before try n>1 sleep U(0, min(max_delay, base*2^(n-2)))."""

    attempts: int = 8
    base_delay: float = 0.05
    max_delay: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("RetryPolicy needs attempts >= 1 and 0 <= base_delay <= max_delay")

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """The sleep before each attempt: 0 for the first, then jittered and growing."""
        rng = rng or random.SystemRandom()
        yield 0.0
        for n in range(1, self.attempts):
            cap = min(self.max_delay, self.base_delay * (2 ** (n - 1)))
            yield rng.uniform(0.0, cap)
