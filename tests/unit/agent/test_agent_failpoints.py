"""Failpoints: crash (SIGKILL) or freeze (SIGSTOP) at a named point, only when armed."""

from __future__ import annotations

import signal

import pytest

from orchestrator.agent import failpoints


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    signals: list[int] = []
    monkeypatch.setattr(failpoints.os, "kill", lambda pid, sig: signals.append(sig))
    return signals


@pytest.mark.parametrize(
    ("armed", "expected"),
    [
        ("", []),
        ("after-apply", []),
        ("before-promotion-push", [signal.SIGKILL]),
        ("after-apply, before-promotion-push=stop", [signal.SIGSTOP]),
        ("before-promotion-push=crash", [signal.SIGKILL]),
    ],
)
def test_an_armed_point_sends_its_signal(
    monkeypatch: pytest.MonkeyPatch, sent: list[int], armed: str, expected: list[int]
) -> None:
    monkeypatch.setenv(failpoints.ENV, armed)
    failpoints.reach("before-promotion-push")
    assert sent == expected


def test_unknown_points_and_actions_are_mistakes(
    monkeypatch: pytest.MonkeyPatch, sent: list[int]
) -> None:
    with pytest.raises(ValueError, match="unknown failpoint"):
        failpoints.reach("nowhere")
    monkeypatch.setenv(failpoints.ENV, "after-note=explode")
    with pytest.raises(ValueError, match="crash or stop"):
        failpoints.reach("after-note")
    assert sent == []
