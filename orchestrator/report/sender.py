"""Delivers notification messages from a background thread, retrying with backoff.

A reconcile only enqueues; one worker sends. A failed attempt (no connection, a
timeout, HTTP 429 or 5xx) is retried after 1, 2, 4, ... seconds (at most 60) until the
attempts run out; any other HTTP error is final (the endpoint refuses the message and
would refuse it again). A message waiting for its retry does not hold back the others.
The queue is bounded: when an endpoint is down for long, the oldest news is what is
dropped first, and the log says so. Logs name the target, never its URL.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.report.notify import Message

log = logging.getLogger("orchestrator.report")

Post = Callable[[Message, float], int]  # (message, timeout) -> HTTP status; OSError: no answer
Observe = Callable[[str, str], None]  # (target name, "sent" | "failed" | "dropped")


def http_post(message: Message, timeout: float) -> int:
    """POST the message; the HTTP status, also for error statuses."""
    request = urllib.request.Request(  # noqa: S310 - the URL is an operator's setting
        message.route.url, data=message.body, headers=message.headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    message: Message = field(compare=False)
    attempt: int = field(default=1, compare=False)


class Sender:
    """The queue and its worker; `submit` never blocks."""

    def __init__(
        self,
        *,
        post: Post = http_post,
        max_attempts: int = 5,
        timeout: float = 5.0,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        capacity: int = 1000,
        observe: Observe | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._post = post
        self._max_attempts = max_attempts
        self._timeout = timeout
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._capacity = capacity
        self._observe = observe or (lambda _name, _result: None)
        self._clock = clock
        self._heap: list[_Pending] = []
        self._seq = itertools.count()
        self._changed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="notifications", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, message: Message) -> None:
        with self._changed:
            if len(self._heap) >= self._capacity:
                oldest = min(self._heap, key=lambda p: p.seq)
                self._heap.remove(oldest)
                heapq.heapify(self._heap)
                log.warning(
                    "notification queue full: dropped %s for %s",
                    oldest.message.entry_id,
                    oldest.message.route.name,
                )
                self._observe(oldest.message.route.name, "dropped")
            heapq.heappush(self._heap, _Pending(self._clock(), next(self._seq), message))
            self._changed.notify()

    def stop(self, *, timeout: float = 5.0) -> None:
        """Send what is due within `timeout`, then stop; what is left is logged as dropped."""
        deadline = self._clock() + timeout
        with self._changed:
            while self._heap and self._clock() < deadline and self._thread.is_alive():
                self._changed.wait(0.05)
            self._stopping = True
            left = len(self._heap)
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=max(0.0, deadline - self._clock()) + self._timeout)
        if left:
            log.warning("stopping with %d notification(s) not sent", left)

    def pending(self) -> int:
        with self._changed:
            return len(self._heap)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._stopping and (not self._heap or self._heap[0].due > self._clock()):
                    wait = self._heap[0].due - self._clock() if self._heap else None
                    self._changed.wait(wait)
                if self._stopping:
                    return
                item = heapq.heappop(self._heap)
            self._attempt(item)
            with self._changed:
                self._changed.notify_all()

    def _attempt(self, item: _Pending) -> None:
        name = item.message.route.name
        try:
            status: int | None = self._post(item.message, self._timeout)
            problem = f"HTTP {status}"
        except OSError as exc:  # refused, reset, timed out, DNS
            status, problem = None, type(exc).__name__
        if status is not None and 200 <= status < 300:
            self._observe(name, "sent")
            return
        retryable = status is None or status == 429 or status >= 500
        if retryable and item.attempt < self._max_attempts:
            delay = min(self._max_backoff, self._backoff * 2 ** (item.attempt - 1))
            log.info(
                "notification %s to %s: %s; retry %d in %.0fs",
                item.message.entry_id,
                name,
                problem,
                item.attempt,
                delay,
            )
            with self._changed:
                heapq.heappush(
                    self._heap,
                    _Pending(
                        self._clock() + delay, next(self._seq), item.message, item.attempt + 1
                    ),
                )
            return
        log.error(
            "notification %s to %s failed after %d attempt(s): %s",
            item.message.entry_id,
            name,
            item.attempt,
            problem,
        )
        self._observe(name, "failed")
