"""Approval without a pull-request host: merge `pr/<env>/<feature>` into `<env>`.

The merge commit is built on the environment tip just fetched and pushed with the
same compare-and-swap as every other write, so two approvals racing each other or an
agent both land, one after the other, or the loser gets a clear conflict. Approving
what is already merged is a no-op.
"""

from __future__ import annotations

from orchestrator.errors import BranchNotFound
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.signing import Signer
from orchestrator.promote.write.promotion import PromotionResult


def approve(
    repo: CacheRepo,
    *,
    environment: str,
    feature: str,
    author: Identity,
    signer: Signer | None = None,
) -> PromotionResult:
    """Merge the candidate branch of `feature` into `environment`'s branch."""
    env_ref = protocol.env_branch(environment)
    candidate_ref = protocol.feature_branch(environment, feature)
    candidate = repo.refresh(candidate_ref)
    if candidate is None:
        raise BranchNotFound(f"{candidate_ref} does not exist: nothing to approve")

    def rebuild(tip: str | None) -> str | None:
        if tip is None:
            raise BranchNotFound(f"{env_ref} does not exist")
        if repo.is_ancestor(candidate, tip):
            return tip  # already merged
        branch = candidate_ref.removeprefix(protocol.BRANCH_PREFIX)
        return repo.merge_commit(
            ours=tip,
            theirs=candidate,
            subject=f"Merge {branch} into {environment}",
            author=author,
            signer=signer,
        )

    result = repo.push_with_retry(ref=env_ref, rebuild=rebuild)
    return PromotionResult(target_ref=result.ref, commit=result.commit, pushed=result.pushed)
