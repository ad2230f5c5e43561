"""The stages of delivering one revision, each failing with its own reason.

Admission (signature, policy, allowance, build), apply and prune, health and
soak, verification runs. Every stage goes through the ports and runs under the
stage clock, which fails /healthz when a stage outlives its deadline.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from orchestrator.agent.ports import ClusterPort, Delivery, GitPort
from orchestrator.agent.watchdog import StageClock
from orchestrator.errors import (
    HealthWaitCancelled,
    KubeError,
    ObjectsNotAllowed,
    OrchestratorError,
    PruneFailed,
    VerificationFailed,
)
from orchestrator.health import DeliveryHealth
from orchestrator.kube.changeset import ChangeSet
from orchestrator.manifests import Manifest
from orchestrator.promote.policy.admission import admission_refusals
from orchestrator.promote.policy.allowance import Allowance, effective_allowance
from orchestrator.promote.policy.schema import EnvironmentPolicy
from orchestrator.promote.policy.trust import TrustRoot, narrow
from orchestrator.record import Report, Stage
from orchestrator.report.tracing import Tracing, traced
from orchestrator.settings import Settings

log = logging.getLogger("orchestrator.agent")
_T = TypeVar("_T")


class StageFailed(OrchestratorError):
    """Internal: carries the stage a pipeline error belongs to, and what was done before it."""

    def __init__(
        self,
        stage: Stage,
        cause: Exception,
        *,
        policy: EnvironmentPolicy | None = None,
        changes: ChangeSet | None = None,
        runs: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self.stage = stage
        self.cause = cause
        self.policy = policy
        self.changes = changes
        self.runs = [dict(r) for r in runs]  # verification runs' records, for the note
        super().__init__(f"{stage}: {cause}")

    def within(self, *, policy: EnvironmentPolicy, changes: ChangeSet) -> StageFailed:
        """This failure, with the policy it ran under and what it applied before failing."""
        return StageFailed(self.stage, self.cause, policy=policy, changes=changes, runs=self.runs)


class Stages:
    """One environment's delivery stages; the reconciler strings them together."""

    tracing: Tracing

    def __init__(
        self,
        *,
        settings: Settings,
        git: GitPort,
        cluster: ClusterPort,
        clock: StageClock | None = None,
    ) -> None:
        self.settings = settings
        self.env = settings.agent.environment
        self.git = git
        self.cluster = cluster
        self.clock = clock or StageClock()
        self._revision = ""  # the revision being reconciled, for the stage clock

    @traced("admit")
    def admit(
        self, revision: str, *, report: Report | None = None
    ) -> tuple[EnvironmentPolicy, Delivery, list[Manifest]]:
        """The guards every revision passes before it is applied, a rollback target too."""
        root = self.stage(Stage.SIGNATURE, self._trust_root)
        if root.required:  # before any byte of the revision is read, its policy included
            self.stage(Stage.SIGNATURE, lambda: self.git.verify_signature(revision, root=root))
        policy = self.stage(Stage.POLICY, lambda: self.git.policy(revision))
        allowance = self.stage(
            Stage.POLICY,
            lambda: effective_allowance(
                policy.allow, self.settings.trust.ceiling, environment=self.env
            ),
        )
        if policy.trust.signers:  # the policy may only narrow whom the cluster trusts
            chosen = self.stage(
                Stage.SIGNATURE,
                lambda: narrow(root, policy.trust.signers, environment=self.env),
            )
            self.stage(Stage.SIGNATURE, lambda: self.git.verify_signature(revision, root=chosen))
        delivery = self.stage(Stage.ARTIFACT, lambda: self.git.delivery(revision))
        if report is not None:
            report.delivery = delivery.feature
        manifests = self.stage(Stage.BUILD, lambda: self._manifests(revision, policy))
        self.stage(Stage.NOT_ALLOWED, lambda: self._check_allowed(manifests, policy, allowance))
        return policy, delivery, manifests

    def _manifests(self, revision: str, policy: EnvironmentPolicy) -> list[Manifest]:
        """The revision's objects, loaded afresh by every reconcile, a drift run too.

        Not kept between reconciles: the bodies of thousands of objects are most of
        what an agent would hold while idle, and a reload of the same revision is
        cheap (its files parse from the parse cache, which keeps them compact).
        """
        return self.git.manifests(revision, policy=policy)

    @traced("apply")
    def apply(
        self,
        revision: str,
        manifests: Sequence[Manifest],
        *,
        policy: EnvironmentPolicy,
        into: ChangeSet,
    ) -> None:
        """Apply and prune; what was applied (and each step's time) lands in `into`."""
        log.info("%s: applying %d objects", revision[:12], len(manifests))
        try:
            self.cluster.deliver(revision, manifests, policy=policy, into=into)
        except PruneFailed as exc:
            raise StageFailed(Stage.PRUNE, exc) from exc
        except KubeError as exc:
            raise StageFailed(Stage.APPLY, exc) from exc
        log.info("%s: %s (%s)", revision[:12], into.summary(), into.timings())

    @traced("health")
    def check_health(
        self,
        revision: str,
        manifests: Sequence[Manifest],
        *,
        policy: EnvironmentPolicy,
        cancel: threading.Event,
    ) -> DeliveryHealth:
        """Healthy within the policy's timeout, then through its soak time."""

        def progress(health: DeliveryHealth) -> None:
            pending = health.not_healthy()
            if pending:
                names = ", ".join(f"{o.ref} ({o.status})" for o in pending[:5])
                log.info("%s: waiting for %s", revision[:12], names)

        health = self.stage(
            Stage.HEALTH,
            lambda: self.cluster.wait_for_health(
                manifests, policy=policy, cancel=cancel, progress=progress
            ),
            allowed=policy.health.timeout_seconds,
        )
        if policy.health.soak_seconds > 0:
            log.info("%s: soaking for %gs", revision[:12], policy.health.soak_seconds)
            health = self.stage(
                Stage.HEALTH,
                lambda: self.cluster.soak(manifests, policy=policy, cancel=cancel),
                allowed=policy.health.soak_seconds,
            )
        return health

    @traced("verification")
    def verify(
        self,
        revision: str,
        *,
        policy: EnvironmentPolicy,
        delivery: Delivery,
        cancel: threading.Event,
    ) -> list[dict[str, Any]]:
        """Run the policy's verification runs; their records, for the note, even on failure."""
        params = self.stage(Stage.VERIFICATION, lambda: self.git.params(revision, policy=policy))
        allowed = sum(run.timeout_seconds for run in policy.verification)
        try:
            with self.timed(Stage.VERIFICATION, allowed=allowed):
                results = self.cluster.run_verification(
                    revision, policy=policy, delivery=delivery.feature, params=params, cancel=cancel
                )
        except VerificationFailed as exc:
            runs = [dict(r) for r in exc.records]
            raise StageFailed(Stage.VERIFICATION, exc, runs=runs) from exc
        except (HealthWaitCancelled, KubeError) as exc:
            raise StageFailed(Stage.VERIFICATION, exc) from exc
        return [r.as_record() for r in results]

    def stage(self, stage: Stage, work: Callable[[], _T], *, allowed: float = 0.0) -> _T:
        """Run one stage; any expected failure is tagged with the stage's reason.

        The stage clock gives it the stage deadline plus `allowed` (its own
        timeout, where it has one); past that, /healthz fails.
        """
        try:
            with self.timed(stage, allowed=allowed):
                return work()
        except StageFailed:
            raise
        except (OrchestratorError, ValueError) as exc:
            raise StageFailed(stage, exc) from exc

    def timed(self, stage: Stage, *, allowed: float = 0.0) -> AbstractContextManager[None]:
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
        refusals = admission_refusals(
            manifests,
            runs=policy.verification,
            allow=allowance,
            secret_reads=allowance.secret_reads,
            lookup=lambda m: self.cluster.namespaced(m.api_version, m.ref.kind),
        )
        if refusals:
            raise ObjectsNotAllowed(refusals)
