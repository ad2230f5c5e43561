"""The reconcile pipeline: one revision of one environment, from Git to cluster and back.

    read policy -> verify signature -> load manifests -> check allowance -> apply + prune
    -> health, soak, verification runs -> note -> promotion plan -> promotion -> note

Each step returns what it found; each stage fails with its own reason
(`record.Stage`), which goes into the note on the commit. The decisions are pure
functions (`agent.decisions`, `promote.planning`); Git and the cluster are
reached only through the two ports of `agent.ports`. Nothing here holds state
between runs: what a restarted agent needs is in Git (branches, notes) and in
the cluster (inventory), and every write is idempotent (server-side apply,
promotion by tree equality, runs found by label), so a crash at any point
converges on the next run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from orchestrator.agent import failpoints
from orchestrator.agent.adapters import KubeCluster, RepoGit
from orchestrator.agent.decisions import (
    Verdict,
    after_batch,
    applied_record,
    healthy_note,
    held_revision,
    waiting,
    with_health,
)
from orchestrator.agent.leader import Fence
from orchestrator.agent.outcome import Delivered, Outcome, failure
from orchestrator.agent.ports import ClusterPort, Delivery, GitPort
from orchestrator.agent.stages import StageFailed, Stages
from orchestrator.agent.watchdog import StageClock
from orchestrator.errors import GitError, HealthWaitCancelled, InventoryError, OrchestratorError
from orchestrator.gitbus.protocol import Identity, NoteEntry
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.signing import Signer
from orchestrator.kube.changeset import ChangeSet
from orchestrator.kube.client import KubeClient
from orchestrator.kube.rollback import rollback_target
from orchestrator.promote.planning.decide import decide
from orchestrator.promote.policy.schema import EnvironmentPolicy
from orchestrator.promote.write.batch import Promoter
from orchestrator.record import (
    ROLLBACK_STAGES,
    Entry,
    Phase,
    Report,
    Stage,
    fenced,
    retry_drift_failure,
)
from orchestrator.record.questions import repeats, waiting_on
from orchestrator.report.tracing import Tracing, traced
from orchestrator.settings import Settings

__all__ = ["Delivery", "Outcome", "Pipeline", "Reconciler", "StageFailed"]

log = logging.getLogger("orchestrator.agent")


class Reconciler(Stages):
    """Reconciles revisions of one environment; safe to call again for the same revision."""

    def __init__(
        self,
        *,
        settings: Settings,
        git: GitPort,
        cluster: ClusterPort,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: StageClock | None = None,
        fence: Callable[[], Fence] | None = None,
        on_record: Callable[[NoteEntry], None] | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        super().__init__(settings=settings, git=git, cluster=cluster, clock=clock)
        # Called before every write to the bus; raises LeadershipLost to stop it.
        self.fence = fence
        self.now = now
        self.on_record = on_record or (lambda _entry: None)
        self.tracing = tracing or Tracing()
        self.promoter = Promoter(
            git=git, env=self.env, record=self._record, fence=self._fence, reach=failpoints.reach
        )

    @traced("reconcile")
    def reconcile(self, revision: str, *, cancel: threading.Event | None = None) -> Outcome:
        """Deliver `revision`, record it, promote it if healthy and allowed."""
        cancel = cancel or threading.Event()
        self._revision = revision
        report = Report(environment=self.env, revision=revision, agent=self.settings.agent.identity)
        existing = self.git.entries(revision)
        latest = existing[-1] if existing else None
        if latest is not None and latest.phase == Phase.ROLLED_BACK:
            # Re-applying would fail again and roll back again: until a new commit,
            # hold the revision rolled back to, correcting drift toward it.
            return self._hold_rollback(revision, message=latest.message)
        delivered = self._deliver_settled(revision, report=report, latest=latest, cancel=cancel)
        if isinstance(delivered, Outcome):
            return delivered
        note = healthy_note(existing, delivered.changes)
        if note is not None:
            phase, message = note
            self._record(revision, report.entry(phase, message=message))
        self._mark_verified(revision)
        failpoints.reach("after-note")
        verdict = self._promote(revision, policy=delivered.policy, report=report, existing=existing)
        return Outcome(
            revision=revision,
            phase=verdict.phase,
            stage=verdict.stage,
            message=verdict.message,
            changes=delivered.changes,
            health=delivered.health,
            promotions=verdict.promotions,
            policy=delivered.policy,
            retry_at=verdict.retry_at,
        )

    def _deliver_settled(
        self,
        revision: str,
        *,
        report: Report,
        latest: Entry | None,
        cancel: threading.Event,
    ) -> Delivered | Outcome:
        """`_deliver`, with a failure of a revision verified here looked at again first.

        An Outcome when it failed for good (recorded, rolled back if the policy says
        so) or was cancelled (noted later: the newer revision's verdict covers it).
        """
        verified = revision in self._verified()
        retries = self.settings.agent.drift_retries
        attempt = 0
        while True:
            try:
                return self._deliver(revision, report=report, cancel=cancel)
            except StageFailed as failed:
                if isinstance(failed.cause, HealthWaitCancelled):
                    log.info(
                        "%s: superseded while checking health; the newer revision's verdict "
                        "will cover it",
                        revision[:12],
                    )
                    return failure(failed, revision, message=str(failed.cause))
                if not retry_drift_failure(
                    stage=failed.stage, verified=verified, attempt=attempt, retries=retries
                ):
                    return self._failed(
                        revision, failed, latest=latest, report=report, cancel=cancel
                    )
                attempt += 1
                log.warning(
                    "%s: %s on a revision verified here; looking again (%d/%d): %s",
                    revision[:12],
                    failed.stage,
                    attempt,
                    retries,
                    failed.cause,
                )
                if cancel.wait(self.settings.agent.drift_retry_seconds):
                    return failure(
                        failed, revision, message="cancelled while waiting to look again"
                    )

    def _deliver(self, revision: str, *, report: Report, cancel: threading.Event) -> Delivered:
        """Everything up to a verified revision; raises StageFailed."""
        policy, delivery, manifests = self.admit(revision, report=report)
        changes = ChangeSet()  # what was applied counts even when a step fails
        try:
            with self.timed(Stage.APPLY):
                self.apply(revision, manifests, policy=policy, into=changes)
            report.changes, report.objects = applied_record(changes)
            failpoints.reach("after-apply")
            health = self.check_health(revision, manifests, policy=policy, cancel=cancel)
            report.health = health.summary
            report.objects = with_health(report.objects, health)
            failpoints.reach("after-health")
            if policy.verification:
                report.runs = self.verify(revision, policy=policy, delivery=delivery, cancel=cancel)
                failpoints.reach("after-verification")
        except StageFailed as failed:
            report.runs = failed.runs or report.runs
            raise failed.within(policy=policy, changes=changes) from failed.cause
        return Delivered(policy=policy, delivery=delivery, changes=changes, health=health)

    def _failed(
        self,
        revision: str,
        failed: StageFailed,
        *,
        latest: Entry | None,
        report: Report,
        cancel: threading.Event,
    ) -> Outcome:
        """Record a failed stage (once: a failure repeated by drift runs is not noted again)."""
        outcome = failure(failed, revision, message=str(failed.cause), stage=failed.stage)
        log.warning("%s: %s: %s", revision[:12], failed.stage, failed.cause)
        if not repeats(latest, phase=Phase.FAILED, stage=failed.stage, message=outcome.message):
            entry = report.entry(Phase.FAILED, stage=failed.stage, message=outcome.message)
            self._record(revision, entry)
        rollback = failed.policy is not None and failed.policy.rollback
        if (
            rollback
            and failed.stage in ROLLBACK_STAGES
            and self._roll_back(revision, report=report, failure=outcome, cancel=cancel)
        ):
            return replace(outcome, phase=Phase.ROLLED_BACK)
        return outcome

    # -- rollback: only to what this agent verified, through every guard ------------

    def _verified(self) -> tuple[str, ...]:
        """Revisions this agent verified Healthy here, newest first (its own record)."""
        try:
            return self.cluster.inventory().verified
        except InventoryError as exc:
            log.error("cannot read the verified revisions: %s", exc)
            return ()

    def _mark_verified(self, revision: str) -> None:
        try:
            self.cluster.mark_verified(revision)
        except InventoryError as exc:
            # Only costs a rollback target; the next healthy reconcile writes it again.
            log.error("%s: cannot record it as verified: %s", revision[:12], exc)

    @traced("rollback")
    def _roll_back(
        self, revision: str, *, report: Report, failure: Outcome, cancel: threading.Event
    ) -> bool:
        """Re-deliver the newest revision this agent verified here, and say so."""
        good = rollback_target(self._verified(), failed=revision, is_ancestor=self.git.is_ancestor)
        if good is None:
            log.warning("%s: rollback wanted, but no earlier verified revision", revision[:12])
            return False
        log.warning("%s: rolling back to %s", revision[:12], good[:12])
        try:
            policy, _, manifests = self.admit(good)
            self.cluster.deliver(good, manifests, policy=policy)
            health = self.cluster.wait_for_health(manifests, policy=policy, cancel=cancel)
        except (OrchestratorError, ValueError) as exc:
            cause = exc.cause if isinstance(exc, StageFailed) else exc
            message = f"rollback to {good[:12]} failed: {cause}"
            log.error("%s: %s", revision[:12], message)
            self._record(revision, report.entry(Phase.FAILED, stage=failure.stage, message=message))
            return False
        report.rolled_back_to = good
        report.health = health.summary
        message = f"{failure.stage} ({failure.message.splitlines()[0]}); rolled back to {good[:12]}"
        self._record(revision, report.entry(Phase.ROLLED_BACK, message=message))
        return True

    def _hold_rollback(self, revision: str, *, message: str) -> Outcome:
        """Re-apply the revision rolled back to (drift correction), through every guard."""
        held = Outcome(revision=revision, phase=Phase.ROLLED_BACK, message=message)
        try:
            inventory = self.cluster.inventory()
        except InventoryError as exc:
            log.error("%s: cannot read the inventory: %s", revision[:12], exc)
            return held
        current = held_revision(
            applied=inventory.revision, verified=inventory.verified, revision=revision
        )
        if current is None:
            return held  # nothing verified is applied: wait for a new commit
        changes = ChangeSet()
        try:
            policy, _, manifests = self.admit(current)
            self.cluster.deliver(current, manifests, policy=policy, into=changes)
        except (OrchestratorError, ValueError) as exc:
            log.error("%s: re-applying %s failed: %s", revision[:12], current[:12], exc)
            return held
        if changes.changed:
            log.warning("%s: rolled back to %s; %s", revision[:12], current[:12], changes.summary())
        return replace(held, changes=changes)

    # -- promotion ------------------------------------------------------------------

    @traced("promotion")
    def _promote(
        self,
        revision: str,
        *,
        policy: EnvironmentPolicy,
        report: Report,
        existing: Sequence[Entry],
    ) -> Verdict:
        """Note what the verdict covers, then promote every delivery not yet promoted."""
        history, notes = self.git.history(revision, targets=list(policy.promotion.to))
        plan = decide(policy, revision=revision, history=history, notes=notes, now=self.now())
        self.promoter.supersede(plan.supersede, revision=revision, report=report)
        action = plan.action
        if action == "none":
            return Verdict(phase=Phase.HEALTHY)
        if action == "done":
            return Verdict(phase=Phase.PROMOTED)
        if action == "fail":
            self._record(
                revision, report.entry(Phase.FAILED, stage=Stage.PROMOTION, message=plan.error)
            )
            return Verdict(phase=Phase.HEALTHY, stage=Stage.PROMOTION, message=plan.error)
        if action == "wait" and plan.gate is not None:
            report.gate = plan.gate.reason
            if not waiting_on(existing, gate=plan.gate.reason):
                self._record(revision, report.entry(Phase.WAITING, message=plan.gate.reason))
            return waiting(plan)
        batch = self.promoter.run(plan.promotions, policy=policy, notes=notes, report=report)
        verdict = after_batch(batch)
        if verdict.stage is Stage.PROMOTION:
            self._record(
                revision,
                report.entry(Phase.FAILED, stage=Stage.PROMOTION, message=verdict.message),
            )
        return verdict

    # -- notes ----------------------------------------------------------------------

    def _fence(self) -> None:
        """Raises LeadershipLost when this replica's term is over: then nothing is pushed."""
        if self.fence is not None:
            self.fence()

    def _record(self, revision: str, entry: NoteEntry) -> None:
        if self.fence is not None:
            fence = self.fence()  # LeadershipLost: a replica out of its term writes nothing
            entry = fenced(entry, writer=fence.holder, token=fence.token)
        try:
            self.git.write_note(revision, entry)
        except GitError as exc:
            # The note is the report, not the work: the next reconcile writes it again.
            log.error("%s: cannot write the note: %s", revision[:12], exc)
            return
        self.on_record(entry)  # Events and notifications mirror what Git now says


class Pipeline(Reconciler):
    """A reconciler over the agent's cache clone of the bus and its cluster client."""

    def __init__(
        self,
        *,
        settings: Settings,
        repo: CacheRepo,
        kube: KubeClient,
        signer: Signer | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        health_interval: float = 1.0,
        clock: StageClock | None = None,
        fence: Callable[[], Fence] | None = None,
        on_record: Callable[[NoteEntry], None] | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        env = settings.agent.environment
        git = RepoGit(
            repo=repo,
            env=env,
            author=Identity(name=settings.git.author_name, email=settings.git.author_email),
            signer=signer,
            params_overrides=settings.agent.params,
        )
        cluster = KubeCluster(
            kube, env=env, namespace=settings.cluster.namespace, health_interval=health_interval
        )
        super().__init__(
            settings=settings,
            git=git,
            cluster=cluster,
            now=now,
            clock=clock,
            fence=fence,
            on_record=on_record,
            tracing=tracing,
        )
