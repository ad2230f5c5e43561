"""Reading a delivery from a commit: its policy and its manifests, straight from Git.

The agent's pipeline, `orchestrator diff` and manual promotion all read the same
two things the same way, from the tree of one commit (no checkout).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from orchestrator.errors import GitError, ManifestError, PolicyError
from orchestrator.gitbus import protocol
from orchestrator.gitbus.repo import CacheRepo, CommitInfo
from orchestrator.gitbus.trailers import DELIVERY, DeliveryTrailers, parse_trailers
from orchestrator.manifests import (
    Limits,
    Manifest,
    Parameters,
    load_manifests,
    load_params,
    params_file,
)
from orchestrator.promote.policy.schema import POLICY_PATH, EnvironmentPolicy, Policy, parse_policy

MERGE_WALK_LIMIT = 200  # commits a merge may bring in before we stop looking
_POLICY_DIR, _, _POLICY_FILE = POLICY_PATH.partition("/")


class Tree(Protocol):
    """The files of one revision: a commit (the agent) or a checkout (`validate`, `publish`).

    `read_files` has the agent's rules whichever it is: only the directory
    asked for, no symlinks, sizes checked before reading (`gitbus.limits`).
    """

    @property
    def label(self) -> str:
        """How messages name the revision: a short commit id, or a directory."""
        ...

    def read_files(self, directory: str) -> dict[str, bytes]: ...


@dataclass(frozen=True, slots=True)
class RevisionTree:
    """A commit of the agent's cache, read straight from the object database."""

    repo: CacheRepo
    revision: str

    @property
    def label(self) -> str:
        return self.revision[:12]

    def read_files(self, directory: str) -> dict[str, bytes]:
        return self.repo.read_files(self.revision, directory=directory)


def policy_at(repo: CacheRepo, revision: str) -> Policy:
    """The policy file of `revision`; PolicyError if missing or invalid."""
    return policy_in(RevisionTree(repo, revision))


def policy_in(tree: Tree) -> Policy:
    """The policy file of `tree`; PolicyError if missing or invalid."""
    data = tree.read_files(_POLICY_DIR).get(_POLICY_FILE)
    if data is None:
        raise PolicyError(POLICY_PATH, [f"missing at {tree.label}"])
    return parse_policy(data)


def environment_policy_at(repo: CacheRepo, revision: str, *, environment: str) -> EnvironmentPolicy:
    return policy_at(repo, revision).environment(environment)


def manifests_at(
    repo: CacheRepo,
    revision: str,
    *,
    environment: str,
    policy: EnvironmentPolicy,
    params: Mapping[str, Any],
) -> list[Manifest]:
    """The delivery's objects at `revision`, with `environment`'s parameters filled in."""
    return manifests_in(
        RevisionTree(repo, revision), environment=environment, policy=policy, params=params
    )


def manifests_in(
    tree: Tree,
    *,
    environment: str,
    policy: EnvironmentPolicy,
    params: Mapping[str, Any],
) -> list[Manifest]:
    """The delivery's objects in `tree`: only the files under the policy's `path` are read."""
    root = policy.path.strip("/")
    files = tree.read_files(root)
    if not files:
        # A typo in `path` must not read as "deliver nothing", which would prune
        # everything this environment applied. An intentionally empty delivery
        # keeps its directory (with a README or .keep file).
        raise ManifestError(
            f"no files at {tree.label}: the policy's path does not exist on this commit",
            path=root or "/",
        )
    prefixed = {f"{root}/{path}" if root else path: data for path, data in files.items()}
    return load_manifests(
        prefixed,
        root=root,
        params=params,
        environment=environment,
        default_namespace="default",
    )


def params_at(
    repo: CacheRepo,
    revision: str,
    *,
    environment: str,
    policy: EnvironmentPolicy,
    overrides: Mapping[str, Any],
) -> Parameters:
    """`environment`'s parameters at `revision`, as its manifests get them.

    Its file in the delivery (`<path>/.orchestrator/params/<environment>.yaml`),
    then the agent settings; verification run templates are filled from these
    too, so a run can be told what the delivery was told.
    """
    root = policy.path.strip("/")
    path = params_file(root=root, environment=environment)
    directory, _, name = path.rpartition("/")
    found = repo.read_files(revision, directory=directory).get(name)
    files = {path: found} if found is not None else {}
    return load_params(
        files, root=root, environment=environment, overrides=overrides, limits=Limits()
    )


def parse_delivery_trailers(message: str) -> DeliveryTrailers:
    """Protocol trailers; a malformed Source-Commit or Promoted-From is just left out."""
    try:
        return DeliveryTrailers.from_message(message)
    except ValueError:
        keys = {k.lower(): v for k, v in parse_trailers(message)}
        return DeliveryTrailers(delivery=keys.get(DELIVERY.lower()))


def checked_delivery(name: str) -> str:
    """The Delivery trailer's value if it is a valid feature name; ValueError naming it.

    The name becomes `$(delivery)$` in verification runs, a label value and a
    branch name (`pr/<env>/<feature>`), so it is checked before anything is
    applied, with the rules of feature branch names.
    """
    try:
        return protocol.check_feature(name)
    except ValueError:
        shown = name if len(name) <= 80 else name[:80] + "..."
        raise ValueError(
            f"{DELIVERY} trailer {shown!r} is not a valid delivery name "
            "(letters, digits, '.', '_' and '-', at most 200, not starting with '.' or '-')"
        ) from None


def delivered_trailers(repo: CacheRepo, info: CommitInfo) -> DeliveryTrailers:
    """Trailers of the commit itself, or of what a merge brought in (a merged PR branch).

    A pull request host's merge commit carries no trailers of its own; the
    candidate commit it merged does, so walk the second-parent side (bounded,
    local reads only) for the first commit with a Delivery trailer.
    """
    own = parse_delivery_trailers(info.message)
    if own.delivery or len(info.parents) < 2:
        return own
    mainline = info.parents[0]
    queue = list(info.parents[1:])
    seen: set[str] = set()
    while queue and len(seen) < MERGE_WALK_LIMIT:
        sha = queue.pop(0)
        if sha in seen or is_ancestor_or_unknown(repo, sha, mainline):
            continue
        seen.add(sha)
        try:
            merged = repo.commit_info(sha)
        except GitError:
            continue
        found = parse_delivery_trailers(merged.message)
        if found.delivery:
            return found
        queue.extend(merged.parents)
    return own


def is_ancestor_or_unknown(repo: CacheRepo, ancestor: str, descendant: str) -> bool:
    """Like `is_ancestor`, but False for a commit the cache does not hold."""
    try:
        return repo.is_ancestor(ancestor, descendant)
    except GitError:
        return False  # a commit the cache does not hold (deleted branch): not provably
