"""Publishing: the build side writes rendered configuration as a candidate for the first
environment (Cartographer's config-writer step), as a commit on `pr/<env>/<feature>`.

The commit replaces the environment's delivery directory with the rendered files and
carries the `Delivery` and `Source-Commit` trailers, which travel with every later
promotion. Publishing the same files again is a no-op.

The delivery's hidden `.orchestrator/` directory (the environments' parameter files)
belongs to the repository, not to the supply chain: it is kept as it is, unless the
publication brings a `.orchestrator/` directory of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from orchestrator.errors import BranchNotFound, PolicyError
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.signing import Signer
from orchestrator.gitbus.trailers import DeliveryTrailers
from orchestrator.manifests import PARAMS_DIR
from orchestrator.promote.policy.schema import EnvironmentPolicy
from orchestrator.promote.revision.source import environment_policy_at
from orchestrator.promote.write.promotion import PromotionResult, changes_for

_KEPT = PARAMS_DIR.split("/")[0] + "/"  # ".orchestrator/" under the delivery directory


@dataclass(frozen=True, slots=True)
class Publication:
    environment: str
    feature: str
    files: Mapping[str, bytes]
    source_commit: str | None = None
    message: str = ""


def delivery_path(repo: CacheRepo, *, environment: str) -> str:
    """Where `environment` keeps its delivery, from the policy on its branch tip."""
    tip = repo.refresh(protocol.env_branch(environment))
    if tip is None:
        raise BranchNotFound(f"{protocol.env_branch(environment)} does not exist")
    try:
        return environment_policy_at(repo, tip, environment=environment).path
    except PolicyError:
        # No (usable) policy yet: the environment cannot deliver anything either;
        # publish where the default policy would look.
        return EnvironmentPolicy().path


def publish(
    repo: CacheRepo,
    publication: Publication,
    *,
    author: Identity,
    signer: Signer | None = None,
    check: Callable[[str], None] | None = None,
) -> PromotionResult:
    """Push the rendered files as a candidate delivery; no-op if already published.

    `check` sees each candidate commit before it is pushed (only in the local
    cache until then) and raises to refuse it: what an agent would refuse
    never enters the repository's history.
    """
    env_ref = protocol.env_branch(publication.environment)
    target_ref = protocol.feature_branch(publication.environment, publication.feature)
    directory = delivery_path(repo, environment=publication.environment)
    trailers = DeliveryTrailers(
        delivery=publication.feature, source_commit=publication.source_commit
    )
    subject = publication.message or f"Publish {publication.feature} to {publication.environment}"

    def rebuild(tip: str | None) -> str | None:
        base = tip if tip is not None else repo.refresh(env_ref)
        if base is None:
            raise BranchNotFound(f"{env_ref} does not exist; cannot publish into it")
        present = repo.read_files(base, directory=directory)
        if not any(path.startswith(_KEPT) for path in publication.files):
            present = {p: data for p, data in present.items() if not p.startswith(_KEPT)}
        changes = changes_for(wanted=publication.files, present=present, directory=directory)
        if not changes:
            return tip
        commit = repo.create_commit(
            parent=base,
            subject=subject,
            author=author,
            trailers=trailers.pairs(),
            changes=changes,
            signer=signer,
        )
        if check is not None:
            check(commit)
        return commit

    result = repo.push_with_retry(ref=target_ref, rebuild=rebuild)
    return PromotionResult(target_ref=result.ref, commit=result.commit, pushed=result.pushed)
