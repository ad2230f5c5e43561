"""The promotion commit: the next environment's tip plus the verified paths.

Only the promoted paths travel; everything else on the target branch (its own
policy, its own parameters) stays as the target environment has it. The commit is
built on the tip just fetched and pushed with compare-and-swap; when the target
already holds exactly these files the push is a no-op, which is what makes a
crash between "pushed" and "recorded in the note" harmless on restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from orchestrator.errors import BranchNotFound
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import DeliveryTrailers, Identity
from orchestrator.gitbus.repo import CacheRepo, PushResult
from orchestrator.gitbus.retry import RetryPolicy
from orchestrator.gitbus.signing import Signer


@dataclass(frozen=True, slots=True)
class PromotionRequest:
    """A verified revision of `source_env` on its way to `target_env`."""

    source_env: str
    source_commit: str
    feature: str
    target_env: str
    mode: Literal["pr", "auto"]
    paths: tuple[str, ...]
    health: str
    verified_by: str
    origin_commit: str | None = None
    # A snapshot names every delivery it carries, oldest first (empty: just `feature`).
    carries: tuple[str, ...] = ()

    @property
    def target_ref(self) -> str:
        if self.mode == "pr":
            return protocol.feature_branch(self.target_env, self.feature)
        return protocol.env_branch(self.target_env)

    @property
    def subject(self) -> str:
        return f"Promote {self.feature} from {self.source_env} to {self.target_env}"

    def trailers(self) -> list[tuple[str, str]]:
        """The protocol trailers; a snapshot has one Delivery line per carried delivery."""
        pairs = DeliveryTrailers(
            delivery=self.feature,
            source_commit=self.origin_commit,
            promoted_from=(self.source_env, self.source_commit),
            verified_by=self.verified_by,
            health=self.health,
        ).pairs()
        names = [name for name in self.carries if name != self.feature] + [self.feature]
        if len(names) == 1:
            return pairs
        rest = [(key, value) for key, value in pairs if key != protocol.DELIVERY]
        return [(protocol.DELIVERY, name) for name in dict.fromkeys(names)] + rest


@dataclass(frozen=True, slots=True)
class PromotionResult:
    target_ref: str
    commit: str | None
    pushed: bool


def changes_for(
    *, wanted: Mapping[str, bytes], present: Mapping[str, bytes], directory: str
) -> dict[str, bytes | None]:
    """Path -> new bytes (None: delete) that turn `present` into `wanted` under `directory`."""
    prefix = directory.strip("/")

    def full(rel: str) -> str:
        return f"{prefix}/{rel}" if prefix else rel

    changes: dict[str, bytes | None] = {
        full(rel): data for rel, data in wanted.items() if present.get(rel) != data
    }
    changes.update({full(rel): None for rel in present.keys() - wanted.keys()})
    return changes


def _changes(
    repo: CacheRepo, *, source: str, base: str, paths: tuple[str, ...]
) -> dict[str, bytes | None]:
    """What makes `base` hold `source`'s files under each of `paths`."""
    changes: dict[str, bytes | None] = {}
    for directory in paths:
        changes.update(
            changes_for(
                wanted=repo.read_files(source, directory=directory.strip("/")),
                present=repo.read_files(base, directory=directory.strip("/")),
                directory=directory,
            )
        )
    return changes


def promote(
    repo: CacheRepo,
    request: PromotionRequest,
    *,
    author: Identity,
    signer: Signer | None = None,
    retry: RetryPolicy | None = None,
) -> PromotionResult:
    """Push the promotion commit for `request`, or do nothing if it is already there."""
    env_ref = protocol.env_branch(request.target_env)
    body = (
        f"Verified in {request.source_env} at {request.source_commit[:12]}; "
        f"promoted paths: {', '.join(request.paths)}."
    )
    if len(request.carries) > 1:
        body += f"\nCarries the deliveries {', '.join(request.carries)}."

    def rebuild(tip: str | None) -> str | None:
        base = tip
        if base is None:
            # A new candidate branch starts from the target environment's tip.
            base = repo.refresh(env_ref)
            if base is None:
                raise BranchNotFound(f"{env_ref} does not exist; cannot promote into it")
        changes = _changes(repo, source=request.source_commit, base=base, paths=request.paths)
        if not changes:
            return tip
        return repo.create_commit(
            parent=base,
            subject=request.subject,
            body=body,
            author=author,
            trailers=request.trailers(),
            changes=changes,
            signer=signer,
        )

    result: PushResult = repo.push_with_retry(ref=request.target_ref, rebuild=rebuild, retry=retry)
    return PromotionResult(target_ref=result.ref, commit=result.commit, pushed=result.pushed)


def promote_change(
    repo: CacheRepo,
    request: PromotionRequest,
    *,
    base: str | None,
    head: str,
    author: Identity,
    signer: Signer | None = None,
    retry: RetryPolicy | None = None,
) -> PromotionResult:
    """Push one delivery on its own: the change `base` -> `head` within the promoted paths.

    `head` is the delivery's commit on the source branch and `base` its first parent,
    so only what that merge brought travels, three-way merged onto the candidate
    branch (or the target's tip for a new one). Replaying it changes nothing, so a
    crash between the push and the note is a no-op on restart. MergeConflict (with
    the paths) when the change does not apply on the target.
    """
    env_ref = protocol.env_branch(request.target_env)
    body = (
        f"Merged into {request.source_env} at {head[:12]}, verified there at "
        f"{request.source_commit[:12]}; promoted paths: {', '.join(request.paths)}."
    )

    def rebuild(tip: str | None) -> str | None:
        onto = tip if tip is not None else repo.refresh(env_ref)
        if onto is None:
            raise BranchNotFound(f"{env_ref} does not exist; cannot promote into it")
        tree = repo.apply_change(base=base, head=head, onto=onto, paths=request.paths)
        if tree == repo.commit_info(onto).tree:
            return tip  # the target holds this change already
        return repo.create_commit(
            parent=onto,
            subject=request.subject,
            body=body,
            author=author,
            trailers=request.trailers(),
            base_tree=tree,
            signer=signer,
        )

    result = repo.push_with_retry(ref=request.target_ref, rebuild=rebuild, retry=retry)
    return PromotionResult(target_ref=result.ref, commit=result.commit, pushed=result.pushed)
