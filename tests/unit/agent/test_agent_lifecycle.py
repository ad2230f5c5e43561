"""The daemon's wiring and its shutdown order, with a fake elector and fake work."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.agent.leader import AlwaysLeader, Callback
from orchestrator.agent.lifecycle import (
    Daemon,
    Readiness,
    branch_of,
    build_daemon,
    push_trigger,
)
from orchestrator.agent.scheduler import RunContext, Scheduler
from orchestrator.settings import load_settings
from orchestrator.web.metrics import Metrics


def wait_until(what: str, check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.01)


class FakeLeadership:
    identity = "fake"

    def __init__(self) -> None:
        self.leading = False
        self.started: list[Callback] = []
        self.stopped: list[Callback] = []
        self.contact: list[Callback] = []
        self.stop_calls: list[bool] = []

    def subscribe(
        self,
        *,
        on_started_leading: Callback | None = None,
        on_stopped_leading: Callback | None = None,
        on_contact: Callback | None = None,
    ) -> None:
        for target, callback in (
            (self.started, on_started_leading),
            (self.stopped, on_stopped_leading),
            (self.contact, on_contact),
        ):
            if callback is not None:
                target.append(callback)

    def is_leader(self) -> bool:
        return self.leading

    def start(self) -> None:
        for callback in self.contact:
            callback()
        self.lead()

    def lead(self) -> None:
        self.leading = True
        for callback in self.started:
            callback()

    def lose(self) -> None:
        self.leading = False
        for callback in self.stopped:
            callback()

    def stop(self, *, release: bool = True, timeout: float = 10.0) -> bool:
        self.stop_calls.append(release)
        self.leading = False
        return release


def make_daemon(
    work: Callable[[RunContext], None], **options: float
) -> tuple[Daemon, FakeLeadership]:
    leadership = FakeLeadership()
    scheduler = Scheduler(is_leader=leadership.is_leader)
    scheduler.add_poll("staging", work, interval=3600, run_at_start=False)
    daemon = Daemon(
        scheduler=scheduler,
        leadership=leadership,
        readiness=Readiness(),
        metrics=Metrics(environment="staging"),
        **options,  # type: ignore[arg-type]
    )
    return daemon, leadership


def test_a_new_leader_polls_at_once_and_reports_it() -> None:
    runs: list[RunContext] = []
    daemon, _ = make_daemon(runs.append)
    daemon.start()
    try:
        wait_until("the leader's first poll", lambda: len(runs) == 1)
        assert runs[0].triggered
        body, _ = daemon.metrics.render()
        assert b'orchestrator_leader{environment="staging"} 1.0' in body
    finally:
        daemon.shutdown()


def test_losing_leadership_cancels_the_running_work() -> None:
    cancelled: list[bool] = []
    running = threading.Event()

    def work(context: RunContext) -> None:
        running.set()
        cancelled.append(context.sleep(10))

    daemon, leadership = make_daemon(work)
    daemon.start()
    try:
        wait_until("work running", running.is_set)
        leadership.lose()
        wait_until("work cancelled", lambda: cancelled == [True], timeout=2)
    finally:
        daemon.shutdown()


def test_a_graceful_stop_finishes_the_job_then_releases_the_lease() -> None:
    release = threading.Event()
    running = threading.Event()
    finished: list[bool] = []

    def work(context: RunContext) -> None:
        running.set()
        release.wait(5)
        finished.append(not context.cancel.is_set())

    daemon, leadership = make_daemon(work, shutdown_grace=5)
    daemon.start()
    wait_until("work running", running.is_set)
    threading.Timer(0.3, release.set).start()
    report = daemon.shutdown()
    assert finished == [True]  # it finished on its own, uncancelled
    assert report.work_finished
    assert report.lease_released
    assert leadership.stop_calls == [True]
    assert daemon.check_ready() == (False, "shutting down")


def test_a_job_past_the_grace_is_cancelled_and_may_stop_safely() -> None:
    running = threading.Event()
    outcome: list[bool] = []

    def work(context: RunContext) -> None:
        running.set()
        outcome.append(context.sleep(30))  # stops at the cancel

    daemon, leadership = make_daemon(work, shutdown_grace=0.2, abandon_grace=2)
    daemon.start()
    wait_until("work running", running.is_set)
    started = time.monotonic()
    report = daemon.shutdown()
    assert time.monotonic() - started < 2
    assert outcome == [True]
    assert report.work_finished
    assert leadership.stop_calls == [True]


def test_work_that_ignores_cancel_is_abandoned_and_the_lease_is_left_to_expire() -> None:
    running = threading.Event()
    unblock = threading.Event()

    def work(context: RunContext) -> None:
        running.set()
        unblock.wait(30)

    daemon, leadership = make_daemon(work, shutdown_grace=0.2, abandon_grace=0.2)
    daemon.start()
    wait_until("work running", running.is_set)
    report = daemon.shutdown()
    unblock.set()
    assert not report.work_finished
    assert not report.lease_released
    assert leadership.stop_calls == [False]  # never hand over while our job may still write


def test_a_second_stop_request_skips_the_grace() -> None:
    running = threading.Event()
    unblock = threading.Event()

    def work(context: RunContext) -> None:
        running.set()
        unblock.wait(30)

    daemon, _ = make_daemon(work, shutdown_grace=30, abandon_grace=30)
    daemon.start()
    wait_until("work running", running.is_set)
    daemon.request_stop("SIGTERM")
    daemon.request_stop("SIGTERM")
    started = time.monotonic()
    report = daemon.shutdown()
    unblock.set()
    assert time.monotonic() - started < 2
    assert not report.work_finished


def test_sigterm_stops_run_with_exit_code_0() -> None:
    runs: list[RunContext] = []
    daemon, leadership = make_daemon(runs.append)
    previous = signal.getsignal(signal.SIGTERM)

    def send_sigterm() -> None:
        wait_until("first poll", lambda: len(runs) == 1)
        os.kill(os.getpid(), signal.SIGTERM)

    sender = threading.Thread(target=send_sigterm)
    sender.start()
    assert daemon.run() == 0
    sender.join()
    assert leadership.stop_calls == [True]
    assert signal.getsignal(signal.SIGTERM) is previous  # handlers restored


def test_readiness_needs_git_and_cluster_for_a_leader_and_cluster_for_a_standby() -> None:
    readiness = Readiness()
    assert readiness.check() == (
        False,
        "waiting for a first successful contact with: git, cluster",
    )
    readiness.mark_cluster()
    assert readiness.check(leader=False) == (True, "ok (standby)")
    assert readiness.check(leader=True)[0] is False
    readiness.mark_git()
    assert readiness.check() == (True, "ok")
    readiness.set_stopping()
    assert readiness.check() == (False, "shutting down")


def test_a_push_triggers_the_poll_of_its_branch_only() -> None:
    scheduler = Scheduler()
    scheduler.add_poll("staging", lambda context: None, interval=3600)
    scheduler.add_poll("staging-eu", lambda context: None, interval=3600)
    trigger = push_trigger(scheduler)
    assert trigger("refs/heads/staging")
    assert scheduler.stats("staging").pending
    assert not scheduler.stats("staging-eu").pending
    assert not trigger("refs/heads/production")
    assert not trigger("refs/notes/orchestrator/staging")
    assert trigger(None)
    assert scheduler.stats("staging-eu").pending
    leading = threading.Event()
    standby_trigger = push_trigger(scheduler, is_leader=leading.is_set)
    assert not standby_trigger("refs/heads/staging")
    leading.set()
    assert standby_trigger("refs/heads/staging")
    assert branch_of("refs/heads/a/b") == "a/b"
    assert branch_of("main") == "main"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ORCHESTRATOR_"):
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("clean_env")
def test_build_daemon_from_settings_serves_http(tmp_path: Path) -> None:
    settings = load_settings(
        overrides={
            "git": {"url": str(tmp_path / "repo.git"), "poll_interval_seconds": 3600},
            "agent": {"environment": "staging"},
            "server": {"port": 0, "webhook_secret": "s3cret"},
        }
    )
    runs: list[RunContext] = []
    daemon = build_daemon(settings, polls={"staging": runs.append})
    assert isinstance(daemon.leadership, AlwaysLeader)
    assert daemon.server is not None
    daemon.start()
    try:
        wait_until("the first poll", lambda: len(runs) >= 1)
        assert daemon.server.port > 0
        assert daemon.check_ready() == (
            False,
            "waiting for a first successful contact with: git, cluster",
        )
    finally:
        report = daemon.shutdown()
    assert report.work_finished


@pytest.mark.usefixtures("clean_env")
def test_build_daemon_needs_a_client_for_leader_election(tmp_path: Path) -> None:
    settings = load_settings(
        overrides={
            "git": {"url": str(tmp_path / "repo.git")},
            "agent": {"environment": "staging"},
            "leader": {"enabled": True},
        }
    )
    with pytest.raises(ValueError, match="KubeClient"):
        build_daemon(settings, polls={"staging": lambda context: None})


def test_a_push_to_a_candidate_triggers_the_preview_of_its_environment() -> None:
    scheduler = Scheduler()
    scheduler.add_poll("production", lambda context: None, interval=3600)
    scheduler.add_poll("pr/production", lambda context: None, interval=3600)
    trigger = push_trigger(scheduler)
    assert trigger("refs/heads/pr/production/feature-a")
    assert scheduler.stats("pr/production").pending
    assert not scheduler.stats("production").pending
    assert not trigger("refs/heads/pr/staging/feature-a")
    assert not trigger("refs/heads/pr/production/feature-a/deeper")
