"""In-memory implementations of the reconciler's two ports, for unit tests.

`MemoryGit` holds one environment branch as plain commits (parent, delivery,
policy), its notes as lists of entries, and what each target branch received;
`MemoryCluster` holds what was applied and which revisions were verified.
Failures are switches: a revision whose health fails, a target whose push fails
or already holds a newer revision's promotion.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.agent.ports import Delivery, Progress
from orchestrator.errors import GitError, HealthCheckFailed, PromotionSuperseded
from orchestrator.gitbus.protocol import NoteEntry
from orchestrator.health import DeliveryHealth
from orchestrator.health.runs import RunResult
from orchestrator.health.status import HealthStatus, ObjectHealth
from orchestrator.kube.changeset import ChangeSet
from orchestrator.kube.inventory import Inventory
from orchestrator.manifests import Manifest
from orchestrator.manifests.params import Parameters
from orchestrator.promote.planning.request import PromotionRequest
from orchestrator.promote.policy.schema import EnvironmentPolicy
from orchestrator.promote.policy.trust import TrustRoot
from orchestrator.promote.revision.deliveries import Change
from orchestrator.promote.write.promotion import PromotionResult
from orchestrator.record import Entry, entries_of


def sha(n: int) -> str:
    return f"{n:040x}"


def manifest(name: str = "app") -> Manifest:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop"},
        "data": {"k": "v"},
    }
    return Manifest.of(body, path=f"manifests/{name}.yaml")


@dataclass
class Commit:
    parent: str | None
    feature: str
    policy: EnvironmentPolicy


@dataclass
class Push:
    target: str
    feature: str
    source_commit: str
    snapshot: bool


@dataclass
class MemoryGit:
    """One environment's branch and notes, and the pushes to its targets."""

    commits: dict[str, Commit] = field(default_factory=dict)
    notes: dict[str, list[NoteEntry]] = field(default_factory=dict)
    pushes: list[Push] = field(default_factory=list)
    failing_targets: set[str] = field(default_factory=set)
    newer_on: dict[str, str] = field(default_factory=dict)  # target -> newer revision there

    def commit(self, n: int, *, feature: str, policy: EnvironmentPolicy) -> str:
        """Add commit `sha(n)` on top of `sha(n - 1)` (the root when n == 1)."""
        self.commits[sha(n)] = Commit(sha(n - 1) if n > 1 else None, feature, policy)
        return sha(n)

    def phases(self, revision: str) -> list[str]:
        return [e.phase for e in self.notes.get(revision, [])]

    def entries(self, revision: str) -> list[Entry]:
        return entries_of(self.notes.get(revision, []))

    def verify_signature(self, revision: str, *, root: TrustRoot) -> None:
        return None

    def policy(self, revision: str) -> EnvironmentPolicy:
        return self.commits[revision].policy

    def delivery(self, revision: str) -> Delivery:
        return Delivery(self.commits[revision].feature, None)

    def manifests(self, revision: str, *, policy: EnvironmentPolicy) -> list[Manifest]:
        return [manifest()]

    def params(self, revision: str, *, policy: EnvironmentPolicy) -> Parameters:
        return Parameters()

    def history(
        self, revision: str, *, targets: Sequence[str]
    ) -> tuple[list[Change], dict[str, list[Entry]]]:
        chain: list[Change] = []
        notes: dict[str, list[Entry]] = {}
        at: str | None = revision
        while at is not None:
            commit = self.commits[at]
            chain.append(Change(sha=at, parent=commit.parent, feature=commit.feature))
            notes[at] = self.entries(at)
            at = commit.parent
        return chain, notes

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        at: str | None = descendant
        while at is not None:
            if at == ancestor:
                return True
            at = self.commits[at].parent
        return False

    def write_note(self, revision: str, entry: NoteEntry) -> None:
        self.notes.setdefault(revision, []).append(entry)

    def push_promotion(
        self, request: PromotionRequest, *, change: Change | None, fence: Callable[[], None]
    ) -> PromotionResult:
        fence()
        target = request.target_env
        if target in self.failing_targets:
            raise GitError(f"push to {target} refused")
        if target in self.newer_on:
            raise PromotionSuperseded(
                f"{target} holds a newer promotion", newer=self.newer_on[target]
            )
        ref = request.target_ref
        done = any(
            p.target == target
            and p.source_commit == request.source_commit
            and p.feature == request.feature
            for p in self.pushes
        )
        if not done:
            self.pushes.append(Push(target, request.feature, request.source_commit, change is None))
        return PromotionResult(target_ref=ref, commit=sha(900 + len(self.pushes)), pushed=not done)


@dataclass
class MemoryCluster:
    """What the cluster runs and what this agent verified there."""

    applied: list[str] = field(default_factory=list)  # revisions, in apply order
    verified: list[str] = field(default_factory=list)  # newest first
    unhealthy: set[str] = field(default_factory=set)  # revisions whose objects fail
    _current: str = ""

    def deliver(
        self,
        revision: str,
        manifests: Sequence[Manifest],
        *,
        policy: EnvironmentPolicy,
        into: ChangeSet | None = None,
    ) -> None:
        self.applied.append(revision)
        self._current = revision

    def _health(self, manifests: Sequence[Manifest]) -> DeliveryHealth:
        if self._current in self.unhealthy:
            raise HealthCheckFailed(f"ConfigMap/shop/app of {self._current[:12]} failed")
        return DeliveryHealth.of(
            ObjectHealth(ref=m.ref, status=HealthStatus.HEALTHY, message="") for m in manifests
        )

    def wait_for_health(
        self,
        manifests: Sequence[Manifest],
        *,
        policy: EnvironmentPolicy,
        cancel: threading.Event,
        progress: Progress | None = None,
    ) -> DeliveryHealth:
        return self._health(manifests)

    def soak(
        self, manifests: Sequence[Manifest], *, policy: EnvironmentPolicy, cancel: threading.Event
    ) -> DeliveryHealth:
        return self._health(manifests)

    def run_verification(
        self,
        revision: str,
        *,
        policy: EnvironmentPolicy,
        delivery: str,
        params: Parameters,
        cancel: threading.Event,
    ) -> list[RunResult]:
        return []

    def inventory(self) -> Inventory:
        return Inventory(revision=self._current, verified=tuple(self.verified))

    def mark_verified(self, revision: str) -> None:
        self.verified = [revision, *(r for r in self.verified if r != revision)]

    def namespaced(self, api_version: str, kind: str) -> bool | None:
        return True


def policy(**raw: Any) -> EnvironmentPolicy:
    """An environment policy from its YAML shape (aliases as in the policy file)."""
    return EnvironmentPolicy.model_validate(raw)


def settings(**agent: Any) -> Mapping[str, Any]:
    return {
        "git": {"url": "/nonexistent/bus.git"},
        "agent": {"environment": "staging", "identity": "staging-agent", **agent},
        "server": {"enabled": False},
    }
