"""The promotion commit: the next environment's tip plus the verified paths.

Only the promoted paths travel; everything else on the target branch (its own
policy, its own parameters) stays as the target environment has it. The commit is
built on the tip just fetched and pushed with compare-and-swap; when the target
already holds exactly these files the push is a no-op, which is what makes a
crash between "pushed" and "recorded in the note" harmless on restart.

Compare-and-swap prevents lost ref updates, not stale content: a replica that
paused between verifying revision A and pushing it would rebuild "Promote A" on
a tip that already holds the promotion of a newer revision B, and so revert B.
Two guards stop that, both checked before every push attempt:

- `fence`, the caller's leadership check (the Lease re-read; `LeadershipLost`
  when this replica no longer holds it);
- the rebuild refuses (`PromotionSuperseded`) when the newest promotion from
  the same source environment on the target is not this revision or one of its
  ancestors. A revision the cache cannot place (history rewritten) counts as
  newer: refusing to promote is recoverable, reverting production is not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from orchestrator.errors import BranchNotFound, GitError, PromotionSuperseded
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo, PushResult
from orchestrator.gitbus.retry import RetryPolicy
from orchestrator.gitbus.signing import Signer
from orchestrator.promote.planning.request import PromotionRequest
from orchestrator.promote.policy.schema import check_delivery_dir
from orchestrator.promote.revision.source import delivered_trailers, is_ancestor_or_unknown

# First-parent commits of the target read to find its newest promotion from the source.
PROMOTION_WALK_LIMIT = 200


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
        check_delivery_dir(directory)  # the policy checks this; a request may come from elsewhere
        changes.update(
            changes_for(
                wanted=repo.read_files(source, directory=directory.strip("/")),
                present=repo.read_files(base, directory=directory.strip("/")),
                directory=directory,
            )
        )
    return changes


def newest_promotion(repo: CacheRepo, tip: str, *, source_env: str) -> str | None:
    """The source revision of the newest promotion from `source_env` in `tip`'s history.

    Walks first parents (the order in which the target took its changes); a
    merged candidate branch counts through the trailers of what it merged.
    """
    sha: str | None = tip
    for _ in range(PROMOTION_WALK_LIMIT):
        if sha is None:
            return None
        try:
            info = repo.commit_info(sha)
        except GitError:
            return None  # beyond what the cache holds
        origin = delivered_trailers(repo, info).promoted_from
        if origin is not None and origin[0] == source_env:
            return origin[1]
        sha = info.parents[0] if info.parents else None
    return None


def check_not_superseded(repo: CacheRepo, request: PromotionRequest, *, tips: list[str]) -> None:
    """Refuse when any of `tips` already holds a newer promotion from the source environment."""
    for tip in tips:
        newest = newest_promotion(repo, tip, source_env=request.source_env)
        if newest is None or newest == request.source_commit:
            continue
        if is_ancestor_or_unknown(repo, newest, request.source_commit):
            continue  # an older revision's promotion: ours is the newer content
        raise PromotionSuperseded(
            f"{request.target_env} already holds the promotion of "
            f"{request.source_env}@{newest[:12]}, which is not an ancestor of "
            f"{request.source_commit[:12]}; promoting {request.source_commit[:12]} "
            "would replay older content over it",
            newer=newest,
        )


def _checked_base(
    repo: CacheRepo,
    request: PromotionRequest,
    *,
    tip: str | None,
    fence: Callable[[], object] | None,
) -> str:
    """What a promotion commit builds on (the candidate branch's tip, else the target's),
    after the fence and the refusal to replay older content over a newer promotion."""
    if fence is not None:
        fence()
    env_ref = protocol.env_branch(request.target_env)
    env_tip = tip if tip is not None and request.target_ref == env_ref else None
    if env_tip is None:
        env_tip = repo.refresh(env_ref)
    base = tip if tip is not None else env_tip
    if base is None:
        raise BranchNotFound(f"{env_ref} does not exist; cannot promote into it")
    check_not_superseded(
        repo, request, tips=[t for t in dict.fromkeys((base, env_tip)) if t is not None]
    )
    return base


def promote(
    repo: CacheRepo,
    request: PromotionRequest,
    *,
    author: Identity,
    signer: Signer | None = None,
    retry: RetryPolicy | None = None,
    fence: Callable[[], object] | None = None,
) -> PromotionResult:
    """Push the promotion commit for `request`, or do nothing if it is already there.

    `fence` runs before every push attempt and raises to stop it (see the module doc).
    """
    # The newest source history, so a newer revision's promotion can be placed.
    repo.refresh(protocol.env_branch(request.source_env))
    body = (
        f"Verified in {request.source_env} at {request.source_commit[:12]}; "
        f"promoted paths: {', '.join(request.paths)}."
    )
    if len(request.carries) > 1:
        body += f"\nCarries the deliveries {', '.join(request.carries)}."

    def rebuild(tip: str | None) -> str | None:
        base = _checked_base(repo, request, tip=tip, fence=fence)
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
    fence: Callable[[], object] | None = None,
) -> PromotionResult:
    """Push one delivery on its own: the change `base` -> `head` within the promoted paths.

    `head` is the delivery's commit on the source branch and `base` its first parent,
    so only what that merge brought travels, three-way merged onto the candidate
    branch (or the target's tip for a new one). Replaying it changes nothing, so a
    crash between the push and the note is a no-op on restart. MergeConflict (with
    the paths) when the change does not apply on the target.
    """
    body = (
        f"Merged into {request.source_env} at {head[:12]}, verified there at "
        f"{request.source_commit[:12]}; promoted paths: {', '.join(request.paths)}."
    )
    # The newest source history, so a newer revision's promotion can be placed.
    repo.refresh(protocol.env_branch(request.source_env))

    def rebuild(tip: str | None) -> str | None:
        onto = _checked_base(repo, request, tip=tip, fence=fence)
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
