"""The reconcile pipeline: one revision of one environment, from Git to cluster and back.

    read policy -> verify signature -> load manifests -> check allowance -> apply + prune
    -> health, soak, verification runs -> note -> gates -> promotion -> note

One linear function; each stage fails with its own reason (`record.Stage`), which
goes into the note on the commit. Nothing here holds state between runs: what a
restarted agent needs is in Git (branches, notes) and in the cluster (inventory),
and every write is idempotent (server-side apply, promotion by tree equality, runs
found by label), so a crash at any point converges on the next run.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from orchestrator.agent import failpoints
from orchestrator.agent.batch import BatchResult, Promoter
from orchestrator.agent.leader import Fence
from orchestrator.record import (
    ROLLBACK_STAGES,
    Phase,
    Report,
    Stage,
    retry_drift_failure,
)
from orchestrator.agent.watchdog import StageClock
from orchestrator.errors import (
    GitError,
    HealthWaitCancelled,
    InventoryError,
    KubeError,
    ObjectsNotAllowed,
    OrchestratorError,
    PruneFailed,
    UnknownKind,
    VerificationFailed,
)
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity, NoteEntry
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.signing import Signer
from orchestrator.health import DeliveryHealth
from orchestrator.health.observe import Target
from orchestrator.health.runs import wait_for_runs
from orchestrator.health.wait import soak, wait_for_health
from orchestrator.kube.apply import ApplyOptions
from orchestrator.kube.changeset import ChangeSet
from orchestrator.kube.client import KubeClient
from orchestrator.kube.delivery import deliver
from orchestrator.kube.inventory import InventoryStore
from orchestrator.kube.prune import PruneOptions
from orchestrator.kube.rollback import rollback_target
from orchestrator.manifests import Manifest
from orchestrator.promote.admission import admission_refusals
from orchestrator.promote.allowance import Allowance, effective_allowance
from orchestrator.promote.deliveries import carried, plan, read_history
from orchestrator.promote.gates import evaluate
from orchestrator.promote.policy import EnvironmentPolicy
from orchestrator.promote.source import (
    checked_delivery,
    delivered_trailers,
    environment_policy_at,
    is_ancestor_or_unknown,
    manifests_at,
    params_at,
)
from orchestrator.promote.trust import TrustRoot, narrow, verify_revision
from orchestrator.report.tracing import Tracing, traced
from orchestrator.settings import Settings

log = logging.getLogger("orchestrator.agent")
_T = TypeVar("_T")


class StageFailed(OrchestratorError):
    """Internal: carries the stage a pipeline error belongs to."""

    def __init__(self, stage: Stage, cause: Exception) -> None:
        self.stage = stage
        self.cause = cause
        super().__init__(f"{stage}: {cause}")


@dataclass
class Outcome:
    """What one reconcile did; the daemon uses it for metrics and scheduling."""

    revision: str
    phase: Phase
    stage: Stage | None = None
    message: str = ""
    changes: ChangeSet = field(default_factory=ChangeSet)
    health: DeliveryHealth | None = None
    promotions: list[tuple[str, str]] = field(default_factory=list)  # (target, result)
    policy: EnvironmentPolicy | None = None
    retry_at: datetime | None = None  # Waiting: when the closed gate opens


@dataclass(frozen=True)
class Delivery:
    """The feature a revision delivers, and the source commit it was built from."""

    feature: str
    origin_commit: str | None


def delivery_of(repo: CacheRepo, revision: str) -> Delivery:
    """The feature a revision delivers: its own trailers, or those a merge brought in.

    With none, the name derives from the commit id.
    """
    trailers = delivered_trailers(repo, repo.commit_info(revision))
    if trailers.delivery is None:
        return Delivery(f"rev-{revision[:12]}", trailers.source_commit)
    return Delivery(checked_delivery(trailers.delivery), trailers.source_commit)


class Pipeline:
    """Reconciles revisions of one environment; safe to call again for the same revision."""

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
        self.settings = settings
        # Called before every write to the bus; raises LeadershipLost to stop it.
        self.fence = fence
        self.env = settings.agent.environment
        self.repo = repo
        self.kube = kube
        self.signer = signer
        self.now = now
        self.health_interval = health_interval
        self.clock = clock or StageClock()
        self._revision = ""  # the revision being reconciled, for the stage clock
        self.on_record = on_record or (lambda _entry: None)
        self.tracing = tracing or Tracing()
        self.author = Identity(name=settings.git.author_name, email=settings.git.author_email)
        self.field_manager = f"orchestrator-{self.env}"
        self._loaded: tuple[tuple[str, str], list[Manifest]] | None = None
        self.inventory = InventoryStore.for_environment(
            kube, namespace=settings.cluster.namespace, environment=self.env
        )
        self.promoter = Promoter(
            repo=repo,
            env=self.env,
            author=self.author,
            signer=signer,
            record=self._record,
            fence=self._fence,
        )

    # -- the pipeline ---------------------------------------------------------------

    @traced("reconcile")
    def reconcile(self, revision: str, *, cancel: threading.Event | None = None) -> Outcome:
        """Deliver `revision`, record it, promote it if healthy and allowed."""
        cancel = cancel or threading.Event()
        self._revision = revision
        report = Report(environment=self.env, revision=revision, agent=self.settings.agent.identity)
        outcome = Outcome(revision=revision, phase=Phase.FAILED)
        existing = self._entries(revision)
        latest = existing[-1] if existing else None
        if latest is not None and latest.phase == Phase.ROLLED_BACK:
            # Re-applying would fail again and roll back again: until a new commit,
            # hold the revision rolled back to, correcting drift toward it.
            outcome.phase = Phase.ROLLED_BACK
            outcome.message = str(latest.fields.get("message", ""))
            self._hold_rollback(revision, outcome=outcome)
            return outcome
        delivered = self._deliver_settled(
            revision, report=report, outcome=outcome, latest=latest, cancel=cancel
        )
        if delivered is None:
            return outcome
        policy, _ = delivered
        outcome.phase = Phase.HEALTHY
        if not any(e.phase == Phase.HEALTHY for e in existing):
            self._record(revision, report.entry(Phase.HEALTHY))
        elif outcome.changes.changed:
            drifted = ", ".join(
                str(e.ref) for e in outcome.changes if str(e.action) in ("created", "configured")
            )
            message = f"re-applied objects changed outside Git: {drifted}"
            self._record(revision, report.entry(Phase.DRIFT_CORRECTED, message=message))
        self._mark_verified(revision)
        failpoints.reach("after-note")
        self._promote(revision, policy=policy, report=report, outcome=outcome, existing=existing)
        return outcome

    def _deliver_settled(
        self,
        revision: str,
        *,
        report: Report,
        outcome: Outcome,
        latest: NoteEntry | None,
        cancel: threading.Event,
    ) -> tuple[EnvironmentPolicy, Delivery] | None:
        """`_deliver`, with a failure of a revision verified here looked at again first.

        None when it failed for good (recorded, rolled back if the policy says so)
        or was cancelled (noted later: the newer revision's verdict covers it).
        """
        verified = revision in self._verified()
        retries = self.settings.agent.drift_retries
        attempt = 0
        while True:
            try:
                return self._deliver(revision, report=report, outcome=outcome, cancel=cancel)
            except StageFailed as failed:
                if isinstance(failed.cause, HealthWaitCancelled):
                    log.info(
                        "%s: superseded while checking health; the newer revision's verdict "
                        "will cover it",
                        revision[:12],
                    )
                    outcome.message = str(failed.cause)
                    return None
                if not retry_drift_failure(
                    stage=failed.stage, verified=verified, attempt=attempt, retries=retries
                ):
                    self._failed(revision, failed, latest=latest, report=report, outcome=outcome)
                    rollback = outcome.policy is not None and outcome.policy.rollback
                    if rollback and failed.stage in ROLLBACK_STAGES:
                        self._roll_back(revision, report=report, outcome=outcome, cancel=cancel)
                    return None
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
                    outcome.message = "cancelled while waiting to look again"
                    return None

    def _failed(
        self,
        revision: str,
        failed: StageFailed,
        *,
        latest: NoteEntry | None,
        report: Report,
        outcome: Outcome,
    ) -> None:
        """Record a failed stage (once: a failure repeated by drift runs is not noted again)."""
        outcome.stage = failed.stage
        outcome.message = str(failed.cause)
        log.warning("%s: %s: %s", revision[:12], failed.stage, failed.cause)
        repeated = (
            latest is not None
            and latest.phase == Phase.FAILED
            and latest.fields.get("stage") == str(failed.stage)
            and latest.fields.get("message") == outcome.message
        )
        if not repeated:
            entry = report.entry(Phase.FAILED, stage=failed.stage, message=outcome.message)
            self._record(revision, entry)

    # -- rollback: only to what this agent verified, through every guard ------------

    def _verified(self) -> tuple[str, ...]:
        """Revisions this agent verified Healthy here, newest first (its own record)."""
        try:
            return self.inventory.read().verified
        except InventoryError as exc:
            log.error("cannot read the verified revisions: %s", exc)
            return ()

    def _mark_verified(self, revision: str) -> None:
        try:
            self.inventory.mark_verified(revision)
        except InventoryError as exc:
            # Only costs a rollback target; the next healthy reconcile writes it again.
            log.error("%s: cannot record it as verified: %s", revision[:12], exc)

    @traced("rollback")
    def _roll_back(
        self, revision: str, *, report: Report, outcome: Outcome, cancel: threading.Event
    ) -> None:
        """Re-deliver the newest revision this agent verified here, and say so."""
        good = rollback_target(
            self._verified(),
            failed=revision,
            is_ancestor=lambda a, b: is_ancestor_or_unknown(self.repo, a, b),
        )
        if good is None:
            log.warning("%s: rollback wanted, but no earlier verified revision", revision[:12])
            return
        log.warning("%s: rolling back to %s", revision[:12], good[:12])
        try:
            policy, _, manifests = self._admit(good)
            self._apply_and_prune(good, manifests, policy=policy)
            health = wait_for_health(
                self.kube,
                [Target.of(m.body) for m in manifests],
                timeout=policy.health.timeout_seconds,
                interval=self.health_interval,
                rules=policy.health.rules,
                cancel=cancel,
            )
        except (OrchestratorError, ValueError) as exc:
            cause = exc.cause if isinstance(exc, StageFailed) else exc
            message = f"rollback to {good[:12]} failed: {cause}"
            log.error("%s: %s", revision[:12], message)
            self._record(revision, report.entry(Phase.FAILED, stage=outcome.stage, message=message))
            return
        report.rolled_back_to = good
        report.health = health.summary
        message = f"{outcome.stage} ({outcome.message.splitlines()[0]}); rolled back to {good[:12]}"
        self._record(revision, report.entry(Phase.ROLLED_BACK, message=message))
        outcome.phase = Phase.ROLLED_BACK

    def _hold_rollback(self, revision: str, *, outcome: Outcome) -> None:
        """Re-apply the revision rolled back to (drift correction), through every guard."""
        try:
            inventory = self.inventory.read()
        except InventoryError as exc:
            log.error("%s: cannot read the inventory: %s", revision[:12], exc)
            return
        current = inventory.revision
        if not current or current == revision or current not in inventory.verified:
            return  # nothing verified is applied: wait for a new commit
        changes = ChangeSet()
        try:
            policy, _, manifests = self._admit(current)
            self._apply_and_prune(current, manifests, policy=policy, into=changes)
        except (OrchestratorError, ValueError) as exc:
            log.error("%s: re-applying %s failed: %s", revision[:12], current[:12], exc)
            return
        outcome.changes = changes
        if changes.changed:
            log.warning("%s: rolled back to %s; %s", revision[:12], current[:12], changes.summary())

    def _deliver(
        self, revision: str, *, report: Report, outcome: Outcome, cancel: threading.Event
    ) -> tuple[EnvironmentPolicy, Delivery]:
        """Everything up to a verified revision; raises StageFailed."""
        policy, delivery, manifests = self._admit(revision, report=report)
        outcome.policy = policy
        with self._timed(Stage.APPLY):
            self._apply(revision, manifests, policy=policy, report=report, outcome=outcome)
        failpoints.reach("after-apply")
        self._check_health(
            revision, manifests, policy=policy, report=report, outcome=outcome, cancel=cancel
        )
        failpoints.reach("after-health")
        if policy.verification:
            self._run_verification(
                revision, policy=policy, delivery=delivery, report=report, cancel=cancel
            )
            failpoints.reach("after-verification")
        return policy, delivery

    @traced("admit")
    def _admit(
        self, revision: str, *, report: Report | None = None
    ) -> tuple[EnvironmentPolicy, Delivery, list[Manifest]]:
        """The guards every revision passes before it is applied, a rollback target too."""
        root = self._stage(Stage.SIGNATURE, self._trust_root)
        if root.required:  # before any byte of the revision is read, its policy included
            self._stage(Stage.SIGNATURE, lambda: verify_revision(self.repo, revision, root=root))
        policy = self._stage(
            Stage.POLICY,
            lambda: environment_policy_at(self.repo, revision, environment=self.env),
        )
        allowance = self._stage(
            Stage.POLICY,
            lambda: effective_allowance(
                policy.allow, self.settings.trust.ceiling, environment=self.env
            ),
        )
        if policy.trust.signers:  # the policy may only narrow whom the cluster trusts
            chosen = self._stage(
                Stage.SIGNATURE,
                lambda: narrow(root, policy.trust.signers, environment=self.env),
            )
            self._stage(Stage.SIGNATURE, lambda: verify_revision(self.repo, revision, root=chosen))
        delivery = self._stage(Stage.ARTIFACT, lambda: delivery_of(self.repo, revision))
        if report is not None:
            report.delivery = delivery.feature
        manifests = self._stage(Stage.BUILD, lambda: self._manifests(revision, policy))
        self._stage(Stage.NOT_ALLOWED, lambda: self._check_allowed(manifests, policy, allowance))
        return policy, delivery, manifests

    def _manifests(self, revision: str, policy: EnvironmentPolicy) -> list[Manifest]:
        """The revision's objects; loaded once per revision (drift re-runs reuse them)."""
        if self._loaded is not None and self._loaded[0] == (revision, policy.path):
            return self._loaded[1]
        failpoints.reach("stall-build")
        manifests = manifests_at(
            self.repo,
            revision,
            environment=self.env,
            policy=policy,
            params=self.settings.agent.params,
        )
        self._loaded = ((revision, policy.path), manifests)
        return manifests

    @traced("apply")
    def _apply(
        self,
        revision: str,
        manifests: Sequence[Manifest],
        *,
        policy: EnvironmentPolicy,
        report: Report,
        outcome: Outcome,
    ) -> None:
        log.info("%s: applying %d objects", revision[:12], len(manifests))
        # What was applied and how long each step took count even when a step fails.
        outcome.changes = applied = ChangeSet()
        try:
            self._apply_and_prune(revision, manifests, policy=policy, into=applied)
        except PruneFailed as exc:
            raise StageFailed(Stage.PRUNE, exc) from exc
        except KubeError as exc:
            raise StageFailed(Stage.APPLY, exc) from exc
        report.changes = {str(k): v for k, v in applied.counts().items() if v}
        report.objects = [{"object": str(e.ref), "action": str(e.action)} for e in applied]
        log.info("%s: %s (%s)", revision[:12], applied.summary(), applied.timings())

    def _apply_and_prune(
        self,
        revision: str,
        manifests: Sequence[Manifest],
        *,
        policy: EnvironmentPolicy,
        into: ChangeSet | None = None,
    ) -> None:
        deliver(
            self.kube,
            manifests,
            store=self.inventory,
            revision=revision,
            apply=ApplyOptions.for_environment(self.env, force=policy.apply.force),
            prune_options=PruneOptions(enabled=policy.apply.prune),
            into=into,
        )

    @traced("health")
    def _check_health(
        self,
        revision: str,
        manifests: Sequence[Manifest],
        *,
        policy: EnvironmentPolicy,
        report: Report,
        outcome: Outcome,
        cancel: threading.Event,
    ) -> None:
        targets = [Target.of(m.body) for m in manifests]
        rules = policy.health.rules

        def progress(health: DeliveryHealth) -> None:
            pending = health.not_healthy()
            if pending:
                names = ", ".join(f"{o.ref} ({o.status})" for o in pending[:5])
                log.info("%s: waiting for %s", revision[:12], names)

        health = self._stage(
            Stage.HEALTH,
            lambda: wait_for_health(
                self.kube,
                targets,
                timeout=policy.health.timeout_seconds,
                interval=self.health_interval,
                rules=rules,
                cancel=cancel,
                progress=progress,
            ),
            allowed=policy.health.timeout_seconds,
        )
        if policy.health.soak_seconds > 0:
            log.info("%s: soaking for %gs", revision[:12], policy.health.soak_seconds)
            health = self._stage(
                Stage.HEALTH,
                lambda: soak(
                    self.kube,
                    targets,
                    duration=policy.health.soak_seconds,
                    interval=min(self.health_interval * 2, policy.health.soak_seconds),
                    rules=rules,
                    cancel=cancel,
                ),
                allowed=policy.health.soak_seconds,
            )
        outcome.health = health
        report.health = health.summary
        status_of = {str(o.ref): str(o.status) for o in health.objects}
        for obj in report.objects:
            if obj["object"] in status_of:
                obj["health"] = status_of[obj["object"]]

    @traced("verification")
    def _run_verification(
        self,
        revision: str,
        *,
        policy: EnvironmentPolicy,
        delivery: Delivery,
        report: Report,
        cancel: threading.Event,
    ) -> None:
        params = self._stage(
            Stage.VERIFICATION,
            lambda: params_at(
                self.repo,
                revision,
                environment=self.env,
                policy=policy,
                overrides=self.settings.agent.params,
            ),
        )
        allowed = sum(run.timeout_seconds for run in policy.verification)
        try:
            with self._timed(Stage.VERIFICATION, allowed=allowed):
                results = wait_for_runs(
                    self.kube,
                    policy.verification,
                    environment=self.env,
                    revision=revision,
                    delivery=delivery.feature,
                    params=params,
                    field_manager=self.field_manager,
                    interval=self.health_interval,
                    cancel=cancel,
                )
        except VerificationFailed as exc:
            report.runs = [dict(r) for r in exc.records]
            raise StageFailed(Stage.VERIFICATION, exc) from exc
        except (HealthWaitCancelled, KubeError) as exc:
            raise StageFailed(Stage.VERIFICATION, exc) from exc
        report.runs = [r.as_record() for r in results]

    @traced("promotion")
    def _promote(
        self,
        revision: str,
        *,
        policy: EnvironmentPolicy,
        report: Report,
        outcome: Outcome,
        existing: Sequence[NoteEntry],
    ) -> None:
        """Note what the verdict covers, then promote every delivery not yet promoted."""
        targets = list(policy.promotion.to)
        history, notes = read_history(self.repo, revision, env=self.env, targets=targets)
        changes = carried(history, notes, targets=targets)
        self.promoter.supersede(changes, notes=notes, revision=revision, report=report)
        plans = plan(changes, notes, targets=targets, unit=policy.promotion.effective_unit)
        if not targets:
            return
        if not plans:
            outcome.phase = Phase.PROMOTED
            return
        pending = sorted({t for p in plans for t in p.targets})
        try:
            verdict = evaluate(policy.gates, self.now())
        except ValueError as exc:  # the policy validates schedules; this is a last guard
            outcome.stage = Stage.PROMOTION
            outcome.message = f"cannot evaluate the promotion gates: {exc}"
            self._record(
                revision, report.entry(Phase.FAILED, stage=outcome.stage, message=outcome.message)
            )
            return
        if not verdict.open:
            outcome.phase = Phase.WAITING
            outcome.promotions = [(target, "gated") for target in pending]
            outcome.retry_at = verdict.retry_at
            report.gate = verdict.reason
            if not any(
                e.phase == Phase.WAITING and e.fields.get("gate") == verdict.reason
                for e in existing
            ):
                self._record(revision, report.entry(Phase.WAITING, message=verdict.reason))
            return
        batch = self.promoter.run(plans, policy=policy, notes=notes, report=report)
        self._conclude(revision, batch, report=report, outcome=outcome)

    def _conclude(
        self, revision: str, batch: BatchResult, *, report: Report, outcome: Outcome
    ) -> None:
        """The revision's phase after its batch: Promoted, Failed, Healthy or Superseded."""
        outcome.promotions = batch.promotions
        if batch.failed:
            outcome.stage = Stage.PROMOTION
            outcome.message = batch.failed
            self._record(
                revision, report.entry(Phase.FAILED, stage=Stage.PROMOTION, message=batch.failed)
            )
            return
        if batch.conflicts:
            outcome.phase = Phase.HEALTHY
            outcome.message = f"not promoted (conflict on the target): {', '.join(batch.conflicts)}"
            return
        if batch.superseded and not batch.pushed_any:
            # Older than what every target holds: recorded as such, nothing pushed.
            outcome.phase = Phase.SUPERSEDED
            outcome.message = "; ".join(batch.superseded)
            return
        outcome.phase = Phase.PROMOTED

    def _fence(self) -> None:
        """Raises LeadershipLost when this replica's term is over: then nothing is pushed."""
        if self.fence is not None:
            self.fence()

    # -- stages -------------------------------------------------------------------

    def _stage(self, stage: Stage, work: Callable[[], _T], *, allowed: float = 0.0) -> _T:
        """Run one stage; any expected failure is tagged with the stage's reason.

        The stage clock gives it the stage deadline plus `allowed` (its own
        timeout, where it has one); past that, /healthz fails.
        """
        try:
            with self._timed(stage, allowed=allowed):
                return work()
        except StageFailed:
            raise
        except (OrchestratorError, ValueError) as exc:
            raise StageFailed(stage, exc) from exc

    def _timed(self, stage: Stage, *, allowed: float = 0.0) -> AbstractContextManager[None]:
        deadline = self.settings.agent.stage_deadline_seconds + allowed
        return self.clock.stage(stage, revision=self._revision, deadline=deadline)

    def _trust_root(self) -> TrustRoot:
        trust = self.settings.trust
        return TrustRoot.from_files(
            allowed_signers_file=trust.allowed_signers_file,
            gpg_public_keys_file=trust.gpg_public_keys_file,
        )

    def _check_allowed(
        self, manifests: Sequence[Manifest], policy: EnvironmentPolicy, allowance: Allowance
    ) -> None:
        def discovered(manifest: Manifest) -> bool | None:
            try:
                return self.kube.resource_type(manifest.api_version, manifest.ref.kind).namespaced
            except UnknownKind:
                return None

        refusals = admission_refusals(
            manifests,
            runs=policy.verification,
            allow=allowance,
            secret_reads=allowance.secret_reads,
            lookup=discovered,
        )
        if refusals:
            raise ObjectsNotAllowed(refusals)

    # -- notes --------------------------------------------------------------------

    def _entries(self, revision: str) -> list[NoteEntry]:
        self.repo.refresh(protocol.notes_ref(self.env))
        note = self.repo.read_note(env=self.env, commit=revision)
        return list(note.entries) if note is not None else []

    def _record(self, revision: str, entry: NoteEntry) -> None:
        if self.fence is not None:
            fence = self.fence()  # LeadershipLost: a replica out of its term writes nothing
            fields = {**entry.fields, "writer": fence.holder, "fencingToken": fence.token}
            entry = dataclasses.replace(entry, fields=fields)
        try:
            self.repo.add_note(env=self.env, commit=revision, entries=[entry], author=self.author)
        except GitError as exc:
            # The note is the report, not the work: the next reconcile writes it again.
            log.error("%s: cannot write the note: %s", revision[:12], exc)
            return
        self.on_record(entry)  # Events and notifications mirror what Git now says
