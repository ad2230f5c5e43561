"""The two narrow ports a reconcile reaches the world through: the Git bus and the cluster.

The reconciler decides over plain values and effects through these protocols
only, as `health.reader` lets health verdicts stay pure: `adapters` implements
them over `CacheRepo` and `KubeClient`, unit tests over dictionaries. Each
method is one thing the reconcile needs, named for that, not for how the
library does it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from orchestrator.gitbus.protocol import NoteEntry
from orchestrator.health import DeliveryHealth
from orchestrator.health.runs import RunResult
from orchestrator.kube.changeset import ChangeSet
from orchestrator.kube.inventory import Inventory
from orchestrator.manifests import Manifest
from orchestrator.manifests.params import Parameters
from orchestrator.promote.planning.request import PromotionRequest
from orchestrator.promote.policy.schema import EnvironmentPolicy
from orchestrator.promote.policy.trust import TrustRoot
from orchestrator.promote.revision.deliveries import Change
from orchestrator.promote.write.promotion import PromotionResult
from orchestrator.record import Entry

Progress = Callable[[DeliveryHealth], None]


@dataclass(frozen=True)
class Delivery:
    """The feature a revision delivers, and the source commit it was built from."""

    feature: str
    origin_commit: str | None


class GitPort(Protocol):
    """What a reconcile reads from and writes to the bus, for one environment."""

    def entries(self, revision: str) -> list[Entry]:
        """This environment's note on `revision`, fetched fresh, in note order."""

    def verify_signature(self, revision: str, *, root: TrustRoot) -> None:
        """Raise (SignatureError) unless `revision` is signed by a key of `root`."""

    def policy(self, revision: str) -> EnvironmentPolicy:
        """The environment's policy as of `revision`."""

    def delivery(self, revision: str) -> Delivery:
        """The feature `revision` delivers (its trailers, or those a merge brought in)."""

    def manifests(self, revision: str, *, policy: EnvironmentPolicy) -> list[Manifest]:
        """The objects `revision` delivers, parameters filled in."""

    def params(self, revision: str, *, policy: EnvironmentPolicy) -> Parameters:
        """The parameters verification runs of `revision` see."""

    def history(
        self, revision: str, *, targets: Sequence[str]
    ) -> tuple[list[Change], dict[str, list[Entry]]]:
        """The first-parent chain behind `revision` and this environment's notes on it."""

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether `ancestor` is provably in `descendant`'s history (False when unknown)."""

    def write_note(self, revision: str, entry: NoteEntry) -> None:
        """Add `entry` to the note on `revision`; GitError when the bus refuses."""

    def push_promotion(
        self,
        request: PromotionRequest,
        *,
        change: Change | None,
        fence: Callable[[], None],
    ) -> PromotionResult:
        """Push one promotion: `change` on its own, or (None) the whole revision as a snapshot."""


class ClusterPort(Protocol):
    """What a reconcile does to and reads from the environment's cluster."""

    def deliver(
        self,
        revision: str,
        manifests: Sequence[Manifest],
        *,
        policy: EnvironmentPolicy,
        into: ChangeSet | None = None,
    ) -> None:
        """Apply `manifests` and prune what `revision` no longer holds; record the inventory."""

    def wait_for_health(
        self,
        manifests: Sequence[Manifest],
        *,
        policy: EnvironmentPolicy,
        cancel: threading.Event,
        progress: Progress | None = None,
    ) -> DeliveryHealth:
        """Wait until every object is healthy (HealthCheckFailed past the policy's timeout)."""

    def soak(
        self, manifests: Sequence[Manifest], *, policy: EnvironmentPolicy, cancel: threading.Event
    ) -> DeliveryHealth:
        """Stay healthy for the policy's soak time."""

    def run_verification(
        self,
        revision: str,
        *,
        policy: EnvironmentPolicy,
        delivery: str,
        params: Parameters,
        cancel: threading.Event,
    ) -> list[RunResult]:
        """Run the policy's verification runs and wait until all passed."""

    def inventory(self) -> Inventory:
        """What the environment runs, and the revisions verified here (newest first)."""

    def mark_verified(self, revision: str) -> None:
        """Remember `revision` as verified here: a rollback target."""

    def namespaced(self, api_version: str, kind: str) -> bool | None:
        """Whether a kind is namespaced (None: the cluster does not know it)."""
