"""An operator's rollback (`orchestrator rollback`): a new delivery that restores an old one.

Rolling back is a commit on the environment branch whose delivery directory holds what it
held at an earlier revision; everything else on the branch (its policy, its parameters)
stays as it is now. The agent then delivers that commit like any other, through every
guard: the signature check against the cluster's trust root (so the commit must be signed
by a key the agent trusts, see `git.signing_key_file`), the policy and the cluster's
ceiling, health, soak and verification runs. Nothing here touches a cluster.

Only a revision that was on the branch (a first-parent ancestor of the tip) and whose note
says this environment's agent verified it can be the target; the push is
compare-and-swap like every write, and restoring what the tip already holds is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.errors import BranchNotFound, PromotionError
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.signing import Signer
from orchestrator.gitbus.trailers import (
    DELIVERY,
    ROLLBACK_TO,
    DeliveryTrailers,
    format_promoted_from,
)
from orchestrator.promote.revision.source import environment_policy_at
from orchestrator.promote.write.manual import verified_entry
from orchestrator.promote.write.promotion import changes_for
from orchestrator.record import Entry
from orchestrator.record.questions import delivery_name

FIRST_PARENT_WALK_LIMIT = 1_000


@dataclass(frozen=True, slots=True)
class RollbackResult:
    target_ref: str
    commit: str | None
    pushed: bool
    restored: str  # the revision whose delivery the branch now holds
    delivery: str


def roll_back(
    repo: CacheRepo,
    *,
    environment: str,
    to: str,
    author: Identity,
    signer: Signer | None = None,
) -> RollbackResult:
    """Push the commit that restores `environment`'s delivery as of revision `to`."""
    env_ref = protocol.env_branch(environment)
    tip = repo.refresh(env_ref)
    if tip is None:
        raise BranchNotFound(f"{env_ref} does not exist")
    target = repo.resolve(to)
    if not _on_first_parent_line(repo, target, tip=tip):
        raise PromotionError(
            f"{target[:12]} was never the tip of {environment}: a rollback restores a "
            "revision the environment ran, from its branch's own history"
        )
    verified = verified_entry(
        repo, environment=environment, revision=target, action="rolled back to"
    )
    trailers = DeliveryTrailers.from_message(repo.commit_info(target).message)
    restore = _Restore(
        environment=environment,
        target=target,
        delivery=delivery_name(verified.delivery, trailers.delivery, revision=target),
        directory=environment_policy_at(repo, tip, environment=environment).path,
        verified=verified,
    )

    def rebuild(current: str | None) -> str | None:
        base = current if current is not None else repo.refresh(env_ref)
        if base is None:
            raise BranchNotFound(f"{env_ref} does not exist")
        return restore.commit(repo, base=base, author=author, signer=signer) or current

    result = repo.push_with_retry(ref=env_ref, rebuild=rebuild)
    return RollbackResult(
        target_ref=result.ref,
        commit=result.commit,
        pushed=result.pushed,
        restored=target,
        delivery=restore.delivery,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Restore:
    """What a rollback commit restores, and from which verified revision."""

    environment: str
    target: str
    delivery: str
    directory: str
    verified: Entry

    def commit(
        self, repo: CacheRepo, *, base: str, author: Identity, signer: Signer | None
    ) -> str | None:
        """The restoring commit on `base`; None when `base` already holds that delivery."""
        inside = self.directory.strip("/")
        changes = changes_for(
            wanted=repo.read_files(self.target, directory=inside),
            present=repo.read_files(base, directory=inside),
            directory=self.directory,
        )
        if not changes:
            return None
        verified = self.verified
        return repo.create_commit(
            parent=base,
            subject=f"Roll back {self.environment} to {self.target[:12]} ({self.delivery})",
            body=(
                f"Restores {self.directory}/ as of {self.target[:12]}, which {verified.agent} "
                f"verified ({verified.phase} at {verified.at})."
            ),
            author=author,
            trailers=[
                (DELIVERY, self.delivery),
                (ROLLBACK_TO, format_promoted_from(self.environment, self.target)),
            ],
            changes=changes,
            signer=signer,
        )


def _on_first_parent_line(repo: CacheRepo, revision: str, *, tip: str) -> bool:
    sha: str | None = tip
    for _ in range(FIRST_PARENT_WALK_LIMIT):
        if sha is None:
            return False
        if sha == revision:
            return True
        parents = repo.commit_info(sha).parents
        sha = parents[0] if parents else None
    return False
