"""The ports of a reconcile, over the real bus (`CacheRepo`) and cluster (`KubeClient`).

Thin on purpose: each method calls the existing function that does the work,
so the reconciler's decisions can be tested over in-memory ports while these
stay covered by the integration tests against a real repository and API server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.agent import failpoints
from orchestrator.agent.ports import Delivery, Progress
from orchestrator.errors import UnknownKind
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity, NoteEntry
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.signing import Signer
from orchestrator.health import DeliveryHealth
from orchestrator.health.observe import Target
from orchestrator.health.runs import RunResult, wait_for_runs
from orchestrator.health.wait import soak, wait_for_health
from orchestrator.kube.apply import ApplyOptions
from orchestrator.kube.changeset import ChangeSet
from orchestrator.kube.client import KubeClient
from orchestrator.kube.delivery import deliver
from orchestrator.kube.inventory import Inventory, InventoryStore
from orchestrator.kube.prune import PruneOptions
from orchestrator.manifests import Manifest
from orchestrator.manifests.params import Parameters
from orchestrator.promote.planning.request import PromotionRequest
from orchestrator.promote.policy.schema import EnvironmentPolicy
from orchestrator.promote.policy.trust import TrustRoot, verify_revision
from orchestrator.promote.revision.deliveries import Change, read_history
from orchestrator.promote.revision.source import (
    checked_delivery,
    delivered_trailers,
    environment_policy_at,
    is_ancestor_or_unknown,
    manifests_at,
    params_at,
)
from orchestrator.promote.write.promotion import PromotionResult, promote, promote_change
from orchestrator.record import Entry, entries_of
from orchestrator.record.questions import fallback_delivery


@dataclass(frozen=True, kw_only=True)
class RepoGit:
    """The Git port over the agent's cache clone of the bus."""

    repo: CacheRepo
    env: str
    author: Identity
    signer: Signer | None = None
    params_overrides: Mapping[str, Any]

    def entries(self, revision: str) -> list[Entry]:
        self.repo.refresh(protocol.notes_ref(self.env))
        return entries_of(self.repo.read_note(env=self.env, commit=revision))

    def verify_signature(self, revision: str, *, root: TrustRoot) -> None:
        verify_revision(self.repo, revision, root=root)

    def policy(self, revision: str) -> EnvironmentPolicy:
        return environment_policy_at(self.repo, revision, environment=self.env)

    def delivery(self, revision: str) -> Delivery:
        """Its own trailers, or those a merge brought in; with none, named after the commit."""
        trailers = delivered_trailers(self.repo, self.repo.commit_info(revision))
        if trailers.delivery is None:
            return Delivery(fallback_delivery(revision), trailers.source_commit)
        return Delivery(checked_delivery(trailers.delivery), trailers.source_commit)

    def manifests(self, revision: str, *, policy: EnvironmentPolicy) -> list[Manifest]:
        failpoints.reach("stall-build")
        return manifests_at(
            self.repo,
            revision,
            environment=self.env,
            policy=policy,
            params=self.params_overrides,
        )

    def params(self, revision: str, *, policy: EnvironmentPolicy) -> Parameters:
        return params_at(
            self.repo,
            revision,
            environment=self.env,
            policy=policy,
            overrides=self.params_overrides,
        )

    def history(
        self, revision: str, *, targets: Sequence[str]
    ) -> tuple[list[Change], dict[str, list[Entry]]]:
        return read_history(self.repo, revision, env=self.env, targets=targets)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return is_ancestor_or_unknown(self.repo, ancestor, descendant)

    def write_note(self, revision: str, entry: NoteEntry) -> None:
        self.repo.add_note(env=self.env, commit=revision, entries=[entry], author=self.author)

    def push_promotion(
        self, request: PromotionRequest, *, change: Change | None, fence: Callable[[], None]
    ) -> PromotionResult:
        if change is None:
            return promote(self.repo, request, author=self.author, signer=self.signer, fence=fence)
        return promote_change(
            self.repo,
            request,
            base=change.parent,
            head=change.sha,
            author=self.author,
            signer=self.signer,
            fence=fence,
        )


class KubeCluster:
    """The cluster port over the agent's API client and its inventory Secret."""

    def __init__(
        self, kube: KubeClient, *, env: str, namespace: str, health_interval: float = 1.0
    ) -> None:
        self.kube = kube
        self.env = env
        self.health_interval = health_interval
        self.field_manager = f"orchestrator-{env}"
        self.store = InventoryStore.for_environment(kube, namespace=namespace, environment=env)

    def deliver(
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
            store=self.store,
            revision=revision,
            apply=ApplyOptions.for_environment(self.env, force=policy.apply.force),
            prune_options=PruneOptions(enabled=policy.apply.prune),
            into=into,
        )

    def wait_for_health(
        self,
        manifests: Sequence[Manifest],
        *,
        policy: EnvironmentPolicy,
        cancel: threading.Event,
        progress: Progress | None = None,
    ) -> DeliveryHealth:
        return wait_for_health(
            self.kube,
            [Target.of(m.body) for m in manifests],
            timeout=policy.health.timeout_seconds,
            interval=self.health_interval,
            rules=policy.health.rules,
            cancel=cancel,
            progress=progress,
        )

    def soak(
        self, manifests: Sequence[Manifest], *, policy: EnvironmentPolicy, cancel: threading.Event
    ) -> DeliveryHealth:
        return soak(
            self.kube,
            [Target.of(m.body) for m in manifests],
            duration=policy.health.soak_seconds,
            interval=min(self.health_interval * 2, policy.health.soak_seconds),
            rules=policy.health.rules,
            cancel=cancel,
        )

    def run_verification(
        self,
        revision: str,
        *,
        policy: EnvironmentPolicy,
        delivery: str,
        params: Parameters,
        cancel: threading.Event,
    ) -> list[RunResult]:
        return wait_for_runs(
            self.kube,
            policy.verification,
            environment=self.env,
            revision=revision,
            delivery=delivery,
            params=params,
            field_manager=self.field_manager,
            interval=self.health_interval,
            cancel=cancel,
        )

    def inventory(self) -> Inventory:
        return self.store.read()

    def mark_verified(self, revision: str) -> None:
        self.store.mark_verified(revision)

    def namespaced(self, api_version: str, kind: str) -> bool | None:
        try:
            return self.kube.resource_type(api_version, kind).namespaced
        except UnknownKind:
            return None
