"""The notification queue: retries on the failures that pass, gives up on refusals."""

from __future__ import annotations

import threading
import time

from orchestrator.report import Route
from orchestrator.report.notify import Message
from orchestrator.report.sender import Sender


def _message(entry_id: str, name: str = "ops") -> Message:
    return Message(
        route=Route(name=name, url="http://127.0.0.1:1/"), body=b"{}", headers={}, entry_id=entry_id
    )


class _Endpoint:
    """Answers with the given statuses in turn (an exception: no answer), then 200."""

    def __init__(self, *answers: int | OSError) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []
        self.done = threading.Event()

    def __call__(self, message: Message, timeout: float) -> int:
        self.calls.append(message.entry_id)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, OSError):
            raise answer
        if answer == 200:
            self.done.set()
        return answer


def _run(endpoint: _Endpoint, *messages: Message, **options: float) -> list[tuple[str, str]]:
    results: list[tuple[str, str]] = []
    sender = Sender(
        post=endpoint,
        backoff=0.01,
        observe=lambda name, result: results.append((name, result)),
        **options,  # type: ignore[arg-type]
    )
    sender.start()
    for message in messages:
        sender.submit(message)
    deadline = time.monotonic() + 5
    while sender.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    sender.stop(timeout=1)
    return results


def test_a_server_error_and_a_refused_connection_are_retried_until_sent() -> None:
    endpoint = _Endpoint(500, ConnectionRefusedError(), 429)
    results = _run(endpoint, _message("healthy-1"))
    assert endpoint.calls == ["healthy-1"] * 4
    assert results == [("ops", "sent")]


def test_a_refusal_is_final() -> None:
    endpoint = _Endpoint(400)
    results = _run(endpoint, _message("failed-1"))
    assert endpoint.calls == ["failed-1"]
    assert results == [("ops", "failed")]


def test_attempts_are_bounded() -> None:
    endpoint = _Endpoint(503, 503, 503, 503)
    results = _run(endpoint, _message("failed-1"), max_attempts=3)
    assert endpoint.calls == ["failed-1"] * 3
    assert results == [("ops", "failed")]


def test_a_message_waiting_for_its_retry_does_not_hold_back_the_next() -> None:
    endpoint = _Endpoint(500)
    sender = Sender(post=endpoint, backoff=0.5)
    sender.start()
    sender.submit(_message("first"))
    sender.submit(_message("second"))
    assert endpoint.done.wait(2)
    assert endpoint.calls[:2] == ["first", "second"]
    sender.stop(timeout=2)
    assert endpoint.calls == ["first", "second", "first"]


def test_a_full_queue_drops_the_oldest_news() -> None:
    results: list[tuple[str, str]] = []
    sender = Sender(post=_Endpoint(), capacity=2, observe=lambda n, r: results.append((n, r)))
    for entry_id in ("a", "b", "c"):  # not started: nothing is sent yet
        sender.submit(_message(entry_id, name=entry_id))
    assert sender.pending() == 2
    assert results == [("a", "dropped")]
