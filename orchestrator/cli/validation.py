"""What `orchestrator validate` checks: the agent's own admission checks, on a checkout.

The checkout is read as the agent reads a commit (`gitbus.directory`: only the
policy directory and each environment's `path`, no symlinks, the same read
limits), and the same functions then load the policy and the manifests
(`promote.revision.source`) and judge them (`promote.policy.allowance`,
`promote.policy.admission`, `promote.policy.trust`). A problem that several
environments share is reported once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import (
    GitError,
    ManifestError,
    ManifestErrors,
    MissingParameter,
    PolicyError,
    SignatureError,
)
from orchestrator.gitbus.directory import DirectoryTree
from orchestrator.gitbus.limits import ReadLimits
from orchestrator.manifests import PARAMS_DIR, Limits, Manifest, load_manifests
from orchestrator.manifests.limits import Budget
from orchestrator.manifests.parse import parse_file
from orchestrator.manifests.selection import manifest_files
from orchestrator.promote.policy.admission import admission_refusals
from orchestrator.promote.policy.allowance import Allowance, Ceiling, effective_allowance
from orchestrator.promote.policy.run_allowance import Allows
from orchestrator.promote.policy.schema import EnvironmentPolicy, Policy
from orchestrator.promote.policy.trust import TrustRoot, narrow
from orchestrator.promote.revision.source import Tree, manifests_in, policy_in
from orchestrator.settings import Settings

__all__ = [
    "AgentView",
    "Findings",
    "candidate_problems",
    "file_problems",
    "validate_checkout",
    "validate_tree",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentView:
    """What an agent's settings add: its ceiling, its read limits, its signers, its params.

    Without settings (the default) the policy's own `allow` is checked, the
    default read limits apply and a `trust.signers` selection is not judged.
    """

    ceiling: Ceiling | None = None
    limits: ReadLimits = field(default_factory=ReadLimits)
    trust: TrustRoot | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings) -> AgentView:
        """The view of the agent these settings configure.

        Its trusted keys are files mounted in its pod; where they cannot be read
        (CI, a laptop), `trust` is None and a policy's `trust.signers` is not judged.
        """
        trust = settings.trust
        try:
            root: TrustRoot | None = TrustRoot.from_files(
                allowed_signers_file=trust.allowed_signers_file,
                gpg_public_keys_file=trust.gpg_public_keys_file,
            )
        except SignatureError:
            root = None
        return cls(
            ceiling=trust.ceiling,
            limits=ReadLimits(
                max_file_bytes=trust.max_file_bytes, max_revision_bytes=trust.max_revision_bytes
            ),
            trust=root,
            params=dict(settings.agent.params),
        )


@dataclass
class Findings:
    """Objects per environment and each problem once, with the environments it concerns."""

    objects: dict[str, int] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)
    require_params: bool = True

    def add(self, message: str, *, environment: str | None = None) -> None:
        envs = self.problems.setdefault(message, [])
        if environment is not None and environment not in envs:
            envs.append(environment)

    def lines(self) -> list[str]:
        return [f"{', '.join(envs)}: {msg}" if envs else msg for msg, envs in self.problems.items()]


def validate_tree(
    tree: Tree,
    *,
    environments: tuple[str, ...],
    params: Mapping[str, Any],
    agent: AgentView,
    require_params: bool = True,
) -> Findings:
    """Every problem the agent would refuse `tree` for, in each of `environments` (or all).

    require_params=False leaves out placeholders without a value, for `publish`,
    which cannot know the parameters each agent's settings will give.
    """
    found = Findings(require_params=require_params)
    try:
        policy: Policy = policy_in(tree)
    except (PolicyError, GitError) as exc:
        found.add(str(exc))
        return found
    for env in environments or tuple(policy.environments):
        try:
            env_policy = policy.environment(env)
        except PolicyError as exc:
            found.add(str(exc))
            continue
        _check_environment(
            tree, env=env, policy=env_policy, params={**agent.params, **params}, agent=agent,
            found=found,
        )  # fmt: skip
    return found


def _allowance(
    policy: EnvironmentPolicy, *, env: str, agent: AgentView, found: Findings
) -> tuple[Allows | None, bool]:
    """The allowance objects are judged by, and whether runs may read Secrets."""
    if agent.ceiling is None:
        return policy.allow, True  # no cluster given: its secret_reads is unknown
    try:
        allowance: Allowance = effective_allowance(policy.allow, agent.ceiling, environment=env)
    except PolicyError as exc:
        found.add(str(exc), environment=env)
        return None, False
    return allowance, allowance.secret_reads


def _check_environment(
    tree: Tree,
    *,
    env: str,
    policy: EnvironmentPolicy,
    params: Mapping[str, Any],
    agent: AgentView,
    found: Findings,
) -> None:
    allowance, secret_reads = _allowance(policy, env=env, agent=agent, found=found)
    if policy.trust.signers and agent.trust is not None:
        try:
            narrow(agent.trust, policy.trust.signers, environment=env)
        except PolicyError as exc:
            found.add(str(exc), environment=env)
    try:
        manifests = manifests_in(tree, environment=env, policy=policy, params=params)
    except ManifestError as exc:
        for problem in exc.errors if isinstance(exc, ManifestErrors) else [exc]:
            if found.require_params or not isinstance(problem, MissingParameter):
                found.add(str(problem), environment=env)
        # The agent stops here; validate goes on, so `allow` problems are not hidden.
        manifests = _loadable(tree, env=env, policy=policy, params=params)
    except GitError as exc:  # a symlink or a file over the read limits: nothing was read
        found.add(str(exc), environment=env)
        return
    else:
        found.objects[env] = len(manifests)
    if allowance is not None:
        refusals = admission_refusals(
            manifests, runs=policy.verification, allow=allowance, secret_reads=secret_reads
        )
        for refusal in refusals:
            found.add(refusal, environment=env)


def _loadable(
    tree: Tree, *, env: str, policy: EnvironmentPolicy, params: Mapping[str, Any]
) -> list[Manifest]:
    """The objects of every manifest file that loads on its own (problems already reported)."""
    root = policy.path.strip("/")
    files = {f"{root}/{path}": data for path, data in tree.read_files(root).items()}
    selected, _ = manifest_files(files, root=root, limits=Limits())
    others = {path: data for path, data in files.items() if path not in selected}
    loaded: list[Manifest] = []
    for path, data in selected.items():
        try:
            loaded += load_manifests(
                {**others, path: data},
                root=root, params=params, environment=env, default_namespace="default",
            )  # fmt: skip
        except ManifestError:
            continue
    return loaded


def validate_checkout(
    root: Path, *, environments: tuple[str, ...], params: Mapping[str, Any], agent: AgentView
) -> Findings:
    """`validate_tree` for a directory on disk, read under the agent's limits."""
    tree = DirectoryTree(root, limits=agent.limits)
    return validate_tree(tree, environments=environments, params=params, agent=agent)


def file_problems(files: Mapping[str, bytes]) -> list[str]:
    """What the agent's loader refuses in each file on its own: parse, limits, duplicate keys.

    For `publish`, which writes a delivery directory without knowing the agent's
    parameters: every manifest file and parameter file must parse under the
    loader's limits, or the agent would refuse the revision it becomes.
    """
    limits = Limits()
    selected, errors = manifest_files(files, root="", limits=limits)
    problems = [str(e) for e in errors]
    params = {p: d for p, d in files.items() if p.startswith(f"{PARAMS_DIR}/")}
    for path, data in {**selected, **params}.items():
        try:
            parse_file(data, path=path, budget=Budget(limits, path=path))
        except ManifestError as exc:
            problems.append(str(exc))
    return problems


def candidate_problems(tree: Tree, *, environment: str) -> list[str]:
    """What the agent of `environment` would refuse in a candidate commit, for `publish`.

    Only when the candidate has a policy with an entry for `environment`: without
    one there is nothing to judge the delivery by yet, and that is the
    repository's matter, not the publication's. Parameters are left to the agents.
    """
    try:
        policy_in(tree).environment(environment)
    except (PolicyError, GitError):
        return []
    findings = validate_tree(
        tree, environments=(environment,), params={}, agent=AgentView(), require_params=False
    )
    return findings.lines()
