"""The two kinds of work a daemon runs on its schedule, one per agent role.

`DeliverWork` polls the environment branch and reconciles its tip (and again on
the drift interval, and when a closed gate opens); `BuildWork` publishes the
ConfigMaps a supply chain rendered in the build cluster as candidate deliveries.
`runner` composes them into a daemon.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from orchestrator.agent.lifecycle import Readiness
from orchestrator.agent.reconcile import Outcome, Pipeline
from orchestrator.agent.scheduler import RunContext
from orchestrator.errors import (
    GitError,
)
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.signing import Signer
from orchestrator.kube.client import KubeClient
from orchestrator.promote.write.publish import Publication, publish
from orchestrator.promote.write.suspension import Suspension, suspension_at
from orchestrator.record import SUCCESS_PHASES, Phase
from orchestrator.settings import Settings
from orchestrator.web.metrics import ApplyAction, Metrics

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
