"""A stage past its deadline makes /healthz fail and is reported once."""

from __future__ import annotations

from orchestrator.agent.watchdog import Overdue, StageClock, Watchdog, liveness_handler
from orchestrator.record import Stage
from orchestrator.web.transport import Request

REV = "a" * 40


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_healthz_is_ok_until_a_stage_outlives_its_deadline() -> None:
    time = FakeTime()
    clock = StageClock(monotonic=time)
    healthz = liveness_handler(clock)
    get = Request(method="GET", path="/healthz")
    assert healthz(get).status == 200
    with clock.stage(Stage.BUILD, revision=REV, deadline=30):
        time.now += 30
        assert healthz(get).status == 200
        time.now += 1
        response = healthz(get)
        assert response.status == 503
        assert b"BuildFailed stage of aaaaaaaaaaaa still running after 31s" in response.body
    assert healthz(get).status == 200  # the stage returned after all


def test_a_nested_stage_has_its_own_deadline_and_gives_the_outer_back() -> None:
    time = FakeTime()
    clock = StageClock(monotonic=time)
    with clock.stage(Stage.APPLY, revision=REV, deadline=100):
        with clock.stage(Stage.HEALTH, revision=REV, deadline=5):
            time.now += 6
            overdue = clock.overdue()
            assert overdue is not None
            assert overdue.stage == Stage.HEALTH
        assert clock.overdue() is None


def test_the_watchdog_reports_each_stuck_stage_once() -> None:
    time = FakeTime()
    clock = StageClock(monotonic=time)
    reported: list[Overdue] = []
    watchdog = Watchdog(clock, report=reported.append)
    with clock.stage(Stage.BUILD, revision=REV, deadline=1):
        watchdog.check()
        time.now += 2
        watchdog.check()
        watchdog.check()
    assert [(o.revision, o.stage) for o in reported] == [(REV, Stage.BUILD)]


def test_a_failing_report_does_not_stop_the_watchdog() -> None:
    time = FakeTime()
    clock = StageClock(monotonic=time)

    def broken(_: Overdue) -> None:
        raise RuntimeError("git is down")

    watchdog = Watchdog(clock, report=broken)
    with clock.stage(Stage.BUILD, revision=REV, deadline=1):
        time.now += 2
        watchdog.check()  # logs, does not raise
