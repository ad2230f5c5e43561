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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from orchestrator.agent.lifecycle import Daemon, Readiness, build_daemon
from orchestrator.agent.preview import preview_polls
from orchestrator.agent.reconcile import Outcome, Pipeline
from orchestrator.agent.reporting import build_reporter, build_tracing
from orchestrator.agent.scheduler import DRIFT_JOB, RunContext
from orchestrator.agent.watchdog import Overdue, StageClock, Watchdog, liveness_handler
from orchestrator.errors import (
    Forbidden,
    GitError,
    KubeError,
    OrchestratorError,
    SettingsError,
)
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.signing import Signer
from orchestrator.kube.client import KubeClient
from orchestrator.promote.write.publish import Publication, publish
from orchestrator.promote.write.suspension import Suspension, suspension_at
from orchestrator.record import SUCCESS_PHASES, Phase, Report
from orchestrator.report import Reporter
from orchestrator.report.tracing import Tracing
from orchestrator.settings import Settings
from orchestrator.status.page import register as register_pipeline_page
from orchestrator.status.read import read_pipeline
from orchestrator.web.metrics import ApplyAction, Metrics
from orchestrator.web.reconcile import register as register_reconcile
from orchestrator.wiring import author, open_cluster, open_repo, signer

log = logging.getLogger("orchestrator.agent")

PUBLISH_LABEL = "orchestrator.dev/publish"
FEATURE_LABEL = "orchestrator.dev/feature"
SOURCE_COMMIT_ANNOTATION = "orchestrator.dev/source-commit"


@dataclass
class DeliverWork:
    """The deliver role's jobs. Called by the scheduler, never concurrently."""

    pipeline: Pipeline
    repo: CacheRepo
    metrics: Metrics
    readiness: Readiness
    remote_check_interval: float
    current: str | None = None
    _last_remote_check: float = 0.0
    # Set by a reconcile request: the next poll reconciles even an unmoved tip.
    forced: bool = False
    # What the control branch said at the last look: while set, nothing is applied.
    suspension: Suspension | None = None
    _control_tip: str | None = None
    # Asks the scheduler for a drift run at a given time: a closed promotion gate
    # is looked at again when it opens, not at the next drift interval.
    wake_at: Callable[[datetime], object] | None = None

    @property
    def branch_ref(self) -> str:
        return protocol.env_branch(self.pipeline.env)

    @property
    def control_ref(self) -> str:
        return protocol.control_ref(self.pipeline.env)

    def _held(self, control_tip: str | None) -> tuple[bool, bool]:
        """(suspended, just resumed), from the control branch tip a poll brought in."""
        was = self.suspension
        if control_tip != self._control_tip:
            self._control_tip = control_tip
            self.suspension = suspension_at(self.repo, control_tip, environment=self.pipeline.env)
            if self.suspension is not None:
                log.warning("%s; holding apply and promotion", self.suspension.describe())
            elif was is not None:
                log.info("%s resumed; reconciling", self.pipeline.env)
        return self.suspension is not None, was is not None and self.suspension is None

    def poll(self, ctx: RunContext) -> None:
        """Reconcile the branch tip when it moved (or on the first poll, or when asked)."""
        forced, self.forced = self.forced, False
        started = time.monotonic()
        result = self.repo.poll([self.branch_ref, self.control_ref])
        self.metrics.observe_git_fetch(time.monotonic() - started)
        self.readiness.mark_git()
        held, resumed = self._held(result.tips.get(self.control_ref))
        if held:
            return
        tip = result.tips.get(self.branch_ref)
        if tip is None:
            log.warning("%s does not exist on the remote yet", self.branch_ref)
            return
        if tip == self.current and not (forced or resumed):
            return
        self._reconcile(tip, ctx)

    def force_next(self) -> None:
        """Make the next poll reconcile the tip even if it did not move."""
        self.forced = True

    def drift(self, ctx: RunContext) -> None:
        """Re-reconcile the current revision: self-heal, retry, pending promotions."""
        held, _ = self._held(self.repo.poll([self.control_ref]).tips.get(self.control_ref))
        if held:
            return
        if self.current is None:
            self.poll(ctx)
            return
        outcome = self._reconcile(self.current, ctx)
        corrected = outcome.changes.counts()
        drifted = sum(v for k, v in corrected.items() if str(k) in ("created", "configured"))
        if drifted and outcome.phase is not Phase.FAILED:
            log.warning("%s: corrected drift on %d object(s)", self.current[:12], drifted)
            self.metrics.count_drift(drifted)

    def _reconcile(self, revision: str, ctx: RunContext) -> Outcome:
        cancel = threading.Event()
        watcher = threading.Thread(
            target=self._watch_for_newer, args=(revision, ctx, cancel), daemon=True
        )
        watcher.start()
        started = time.monotonic()
        try:
            outcome = self.pipeline.reconcile(revision, cancel=cancel)
        finally:
            cancel.set()
            watcher.join()
        self.readiness.mark_cluster()
        elapsed = time.monotonic() - started
        result = (
            "success" if outcome.phase in SUCCESS_PHASES else str(outcome.stage or outcome.phase)
        )
        self.metrics.observe_reconcile(seconds=elapsed, result=result)
        self.metrics.count_applied_many(
            {
                cast(ApplyAction, str(action)): count
                for action, count in outcome.changes.counts().items()
                if count
            }
        )
        self.metrics.observe_delivery_steps(
            {str(step): s for step, s in outcome.changes.durations.items()}
        )
        if outcome.health is not None:
            self.metrics.set_health(outcome.health.status)
        for target, promotion in outcome.promotions:
            self.metrics.count_promotion(target=target, result=promotion)
        if outcome.phase in SUCCESS_PHASES:
            self.metrics.mark_reconciled()
        if outcome.phase is Phase.WAITING and outcome.retry_at and self.wake_at is not None:
            self.wake_at(outcome.retry_at)
        if outcome.phase is Phase.FAILED and outcome.stage is None:
            return outcome  # superseded: the newer revision is reconciled next
        self.current = revision
        return outcome

    def _watch_for_newer(self, revision: str, ctx: RunContext, cancel: threading.Event) -> None:
        """Cancel the running reconcile when leadership is lost or a newer revision lands."""
        while not cancel.wait(0.2):
            if ctx.cancelled:
                cancel.set()
                return
            now = time.monotonic()
            if now - self._last_remote_check < self.remote_check_interval:
                continue
            self._last_remote_check = now
            try:
                remote = self.repo.list_remote()
            except GitError:
                continue
            if remote.get(self.control_ref) != self._control_tip:
                log.info("%s: the control branch moved; stopping to look", revision[:12])
                cancel.set()
                return
            tip = remote.get(self.branch_ref)
            if tip is not None and tip != revision:
                log.info("%s: superseded by %s", revision[:12], tip[:12])
                cancel.set()
                return


@dataclass
class BuildWork:
    """The build role's job: publish what the supply chain rendered into ConfigMaps."""

    settings: Settings
    repo: CacheRepo
    kube: KubeClient
    readiness: Readiness
    author: Identity
    signer: Signer | None
    published: dict[str, str] | None = None

    def poll(self, ctx: RunContext) -> None:
        target = self.settings.agent.publish_to
        config_maps = self.kube.list(
            api_version="v1",
            kind="ConfigMap",
            namespace=self.settings.cluster.namespace,
            label_selector=f"{PUBLISH_LABEL}=true",
        )
        self.readiness.mark_cluster()
        if self.published is None:
            self.repo.list_remote()  # the first Git contact makes the build agent ready
            self.readiness.mark_git()
        seen = self.published if self.published is not None else {}
        self.published = seen
        for cm in config_maps:
            if ctx.cancelled:
                return
            meta = cm.get("metadata") or {}
            labels = meta.get("labels") or {}
            annotations = meta.get("annotations") or {}
            feature = str(labels.get(FEATURE_LABEL) or meta.get("name"))
            version = str(meta.get("resourceVersion", ""))
            if seen.get(feature) == version:
                continue
            files = {str(k): str(v).encode() for k, v in (cm.get("data") or {}).items()}
            publication = Publication(
                environment=target,
                feature=feature,
                files=files,
                source_commit=annotations.get(SOURCE_COMMIT_ANNOTATION) or None,
            )
            try:
                result = publish(self.repo, publication, author=self.author, signer=self.signer)
            except (GitError, ValueError) as exc:
                log.error("publishing %s to %s failed: %s", feature, target, exc)
                continue
            self.readiness.mark_git()
            seen[feature] = version
            log.info(
                "published %s to %s (%s)",
                feature,
                result.target_ref,
                "pushed" if result.pushed else "unchanged",
            )


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
