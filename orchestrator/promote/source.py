"""Reading a delivery from a commit: its policy and its manifests, straight from Git.

The agent's pipeline, `orchestrator diff` and manual promotion all read the same
two things the same way, from the tree of one commit (no checkout).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.errors import PolicyError
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.manifests import Manifest, load_manifests
from orchestrator.promote.policy import POLICY_PATH, EnvironmentPolicy, Policy, parse_policy

_POLICY_DIR, _, _POLICY_FILE = POLICY_PATH.partition("/")


def policy_at(repo: CacheRepo, revision: str) -> Policy:
    """The policy file of `revision`; PolicyError if missing or invalid."""
    data = repo.read_files(revision, directory=_POLICY_DIR).get(_POLICY_FILE)
    if data is None:
        raise PolicyError(POLICY_PATH, [f"missing at {revision[:12]}"])
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
    root = policy.path.strip("/")
    files = repo.read_files(revision, directory=root)
    prefixed = {f"{root}/{path}" if root else path: data for path, data in files.items()}
    return load_manifests(
        prefixed,
        root=root,
        params=params,
        environment=environment,
        default_namespace="default",
    )
