"""From settings to a running agent: connect Git and the cluster, plug the work into the daemon.

Two roles:

- deliver: poll the environment branch; reconcile its tip when it moves, and again on
  the drift interval (self-heal, retry after a failure), and when a closed promotion
  gate opens;
- build: poll the build cluster for ConfigMaps labelled `orchestrator.dev/publish`
  (rendered by a supply chain) and publish each as a candidate delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.agent.lifecycle import Daemon, Readiness, build_daemon
from orchestrator.agent.preview import preview_polls
from orchestrator.agent.reconcile import Pipeline
from orchestrator.agent.reporting import build_reporter, build_tracing
from orchestrator.agent.scheduler import DRIFT_JOB
from orchestrator.agent.watchdog import Overdue, StageClock, Watchdog, liveness_handler
from orchestrator.agent.work import BuildWork, DeliverWork
from orchestrator.errors import (
    Forbidden,
    KubeError,
    OrchestratorError,
    SettingsError,
)
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.kube.client import KubeClient
from orchestrator.record import Phase, Report
from orchestrator.report import Reporter
from orchestrator.report.tracing import Tracing
from orchestrator.settings import Settings
from orchestrator.status.page import register as register_pipeline_page
from orchestrator.status.read import read_pipeline
from orchestrator.web.metrics import Metrics
from orchestrator.web.reconcile import register as register_reconcile
from orchestrator.wiring import author, open_cluster, open_repo, signer

log = logging.getLogger("orchestrator.agent")


def _check_own_namespace(kube: KubeClient, namespace: str) -> None:
    """Fail at start, not after applying a delivery, when the inventory has nowhere to go."""
    try:
        found = kube.get(api_version="v1", kind="Namespace", name=namespace)
    except Forbidden:
        return  # least-privilege RBAC need not allow reading Namespaces; the inventory will tell
    if found is None:
        raise SettingsError(
            [
                f"cluster.namespace (ORCHESTRATOR_CLUSTER__NAMESPACE): namespace {namespace} "
                f"does not exist in {kube.server}; create it (deploy/ does) or choose another"
            ]
        )


def _add_routes(
    daemon: Daemon,
    settings: Settings,
    *,
    force: Callable[[], None] | None,
    clock: StageClock,
) -> None:
    """POST /reconcile, the pipeline page and the stage-aware /healthz, next to the
    daemon's own routes."""
    if daemon.server is None:
        return
    register_reconcile(
        daemon.server.routes,
        secret=settings.webhook_secret(),
        environment=settings.agent.environment,
        is_leader=daemon.leadership.is_leader,
        trigger=daemon.scheduler.trigger_now,
        force=force,
    )
    page_repo = open_repo(settings, purpose="page")
    register_pipeline_page(daemon.server.routes, read=lambda: read_pipeline(page_repo))
    daemon.server.routes.add("/healthz", liveness_handler(clock), methods=("GET", "HEAD"))


@dataclass
class _Agent:
    """What `run_agent` starts and stops around the daemon: the role's parts."""

    daemon: Daemon
    force: Callable[[], None] | None = None
    watchdog: Watchdog | None = None
    reporter: Reporter | None = None
    tracing: Tracing | None = None


def _build_role(settings: Settings, *, repo: CacheRepo, kube: KubeClient) -> _Agent:
    """The build role: publish labelled ConfigMaps; a poll always looks at everything."""
    if not settings.agent.publish_to:
        raise OrchestratorError(
            "agent.publish_to must name the first environment for the build role"
        )
    metrics = Metrics(environment=settings.agent.environment)
    repo.on_lost_race = lambda ref, attempt: metrics.count_push_retry()
    readiness = Readiness()
    build = BuildWork(
        settings=settings,
        repo=repo,
        kube=kube,
        readiness=readiness,
        author=author(settings.git),
        signer=signer(settings.git),
    )
    polls = {settings.agent.environment: build.poll}
    return _Agent(
        build_daemon(settings, polls=polls, client=kube, metrics=metrics, readiness=readiness)
    )


def _deliver_role(
    settings: Settings, *, repo: CacheRepo, kube: KubeClient, clock: StageClock
) -> _Agent:
    """The deliver role: reconcile the environment's branch, fenced by leadership."""
    metrics = Metrics(environment=settings.agent.environment)
    repo.on_lost_race = lambda ref, attempt: metrics.count_push_retry()
    readiness = Readiness()
    reporter = build_reporter(settings, kube=kube, repo=repo, metrics=metrics)
    tracing = build_tracing(settings)
    pipeline = Pipeline(
        settings=settings,
        repo=repo,
        kube=kube,
        signer=signer(settings.git),
        on_record=reporter,
        tracing=tracing,
        clock=clock,
    )
    work = DeliverWork(
        pipeline=pipeline,
        repo=repo,
        metrics=metrics,
        readiness=readiness,
        remote_check_interval=max(settings.git.poll_interval_seconds, 1.0),
    )
    daemon = build_daemon(
        settings,
        polls={
            settings.agent.environment: work.poll,
            **preview_polls(settings, reconciler=pipeline, repo=repo, kube=kube, reporter=reporter),
        },
        drift=work.drift,
        client=kube,
        metrics=metrics,
        readiness=readiness,
    )
    pipeline.fence = daemon.leadership.fence  # every write to the bus is fenced
    work.wake_at = lambda when: daemon.scheduler.run_at(DRIFT_JOB, when)
    watchdog = Watchdog(clock, report=stuck_stage_recorder(settings))
    return _Agent(daemon, work.force_next, watchdog, reporter, tracing)


def run_agent(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    repo = open_repo(settings)
    kube = open_cluster(settings)
    _check_own_namespace(kube, settings.cluster.namespace)
    clock = StageClock()
    if settings.agent.role == "build":
        agent = _build_role(settings, repo=repo, kube=kube)
    else:
        agent = _deliver_role(settings, repo=repo, kube=kube, clock=clock)
    _add_routes(agent.daemon, settings, force=agent.force, clock=clock)
    if agent.watchdog is not None:
        agent.watchdog.start()
    if agent.reporter is not None:
        agent.reporter.start()
    try:
        return agent.daemon.run()
    except KubeError as exc:
        log.error("cluster: %s", exc)
        return 1
    finally:
        if agent.watchdog is not None:
            agent.watchdog.stop()
        if agent.reporter is not None:
            agent.reporter.stop()
        if agent.tracing is not None:
            agent.tracing.shutdown()
        kube.close()


def stuck_stage_recorder(settings: Settings) -> Callable[[Overdue], None]:
    """Notes a stuck stage as Failed, through a clone of its own (the stuck thread holds
    the agent's)."""
    repo = open_repo(settings, purpose="watchdog")
    env = settings.agent.environment
    who = author(settings.git)

    def record(overdue: Overdue) -> None:
        report = Report(environment=env, revision=overdue.revision, agent=settings.agent.identity)
        entry = report.entry(Phase.FAILED, stage=overdue.stage, message=overdue.describe())
        repo.add_note(env=env, commit=overdue.revision, entries=[entry], author=who)

    return record
