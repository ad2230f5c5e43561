"""`orchestrator check`: what the agent needs, checked before it runs.

Each check is what the agent itself does first, with the agent's own code and
settings: connect to the cluster (the same conventions), find its namespace,
ask the API server whether its identity may do what it will do (one
SelfSubjectAccessReview per permission, as `kubectl auth can-i`), reach the
repository and the environment's branch, read the policy and load the
manifests at the tip, and (with a forge configured) reach the forge's API with
its token. A failed check does not stop the others unless they
depend on it; the list says what to fix, all at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from orchestrator.errors import Forbidden, OrchestratorError, UnknownKind
from orchestrator.forge import connect
from orchestrator.gitbus import protocol
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.kube.client import KubeClient
from orchestrator.manifests.manifest import Manifest
from orchestrator.promote.policy.schema import EnvironmentPolicy
from orchestrator.promote.revision.source import environment_policy_at, manifests_at
from orchestrator.settings import Settings
from orchestrator.wiring import connect_cluster, open_repo

log = logging.getLogger(__name__)

Result = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    result: Result
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"check": self.name, "result": self.result, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Permission:
    """One `kubectl auth can-i VERB RESOURCE [-n NAMESPACE] [NAME]` question."""

    verb: str
    group: str
    resource: str
    namespace: str = ""
    name: str = ""

    def __str__(self) -> str:
        what = f"{self.resource}.{self.group}" if self.group else self.resource
        where = f" in {self.namespace}" if self.namespace else " (cluster-wide)"
        return f"{self.verb} {what}{'/' + self.name if self.name else ''}{where}"


def agent_permissions(settings: Settings) -> list[Permission]:
    """What the agent does in its own namespace, by role and settings (deploy/ grants it)."""
    ns = settings.cluster.namespace
    wanted = [Permission(v, "", "events", ns) for v in ("create", "patch")]
    if settings.agent.role == "build":
        wanted += [Permission(v, "", "configmaps", ns) for v in ("get", "list")]
    else:
        verbs = ("get", "list", "create", "patch", "delete")
        wanted += [Permission(v, "", "secrets", ns) for v in verbs]
    if settings.leader.enabled:
        wanted.append(Permission("create", "coordination.k8s.io", "leases", ns))
        wanted += [
            Permission(v, "coordination.k8s.io", "leases", ns, settings.lease_name())
            for v in ("get", "update")
        ]
    return wanted


def delivery_permissions(
    kube: KubeClient, manifests: list[Manifest]
) -> tuple[list[Permission], list[str]]:
    """get, create and patch (server-side apply) for each kind and namespace delivered."""
    wanted: dict[tuple[str, str, str], None] = {}
    unknown: list[str] = []
    for manifest in manifests:
        try:
            rtype = kube.resource_type(manifest.api_version, manifest.ref.kind)
        except UnknownKind:
            unknown.append(f"{manifest.api_version} {manifest.ref.kind}")
            continue
        namespace = manifest.ref.namespace if rtype.namespaced else ""
        wanted[(rtype.group, rtype.plural, namespace)] = None
    permissions = [
        Permission(verb, group, plural, namespace)
        for group, plural, namespace in wanted
        for verb in ("get", "create", "patch")
    ]
    return permissions, sorted(set(unknown))


def can_i(kube: KubeClient, permission: Permission) -> bool:
    """One SelfSubjectAccessReview: may this identity do it?"""
    attributes: dict[str, Any] = {
        "verb": permission.verb,
        "group": permission.group,
        "resource": permission.resource,
    }
    if permission.namespace:
        attributes["namespace"] = permission.namespace
    if permission.name:
        attributes["name"] = permission.name
    review = kube.create(
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        },
        field_manager="orchestrator-check",
    )
    return bool((review.get("status") or {}).get("allowed"))


def _rbac(kube: KubeClient, name: str, permissions: list[Permission]) -> Check:
    denied = [str(p) for p in permissions if not can_i(kube, p)]
    if denied:
        return Check(name, "fail", "denied: " + "; ".join(denied))
    return Check(name, "ok", f"{len(permissions)} permission(s) granted")


def _guard(name: str, run: Callable[[], Check]) -> Check:
    """A check that raises fails with the error's one line, never a traceback."""
    try:
        return run()
    except (OrchestratorError, ValueError, OSError) as exc:
        return Check(name, "fail", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _namespace(kube: KubeClient, namespace: str) -> Check:
    try:
        found = kube.get(api_version="v1", kind="Namespace", name=namespace)
    except Forbidden:
        return Check("namespace", "warn", f"may not read Namespace {namespace}; see rbac")
    if found is None:
        return Check("namespace", "fail", f"{namespace} does not exist; create it (deploy/ does)")
    return Check("namespace", "ok", namespace)


def _repository(repo_box: list[CacheRepo], settings: Settings) -> Check:
    repo = open_repo(settings)
    repo_box.append(repo)
    branch = protocol.env_branch(settings.agent.environment)
    tip = repo.refresh(branch)
    if tip is None:
        return Check("repository", "fail", f"{settings.git.url}: no branch {branch}")
    return Check("repository", "ok", f"{settings.git.url}: {branch} at {tip[:12]}")


def forge_check(settings: Settings) -> Check:
    """The forge answers for the bus repository with the agent's token (one read call)."""
    forge = settings.forge
    assert forge.token_file is not None  # the settings require it with a kind
    connected = connect(
        kind=forge.kind,
        api_url=forge.api_url,
        repository=forge.repository,
        token_file=forge.token_file,
    )
    connected.find_pull_request(head=f"pr/{settings.agent.environment}/orchestrator-check")
    return Check("forge", "ok", f"{forge.kind} {forge.api_url}: {forge.repository}")


def run_checks(settings: Settings) -> Iterator[Check]:
    """Every check, in order; each is yielded as soon as it is known."""
    kube_box: list[KubeClient] = []

    def cluster() -> Check:
        kube = connect_cluster(settings)
        kube_box.append(kube)
        return Check(
            "cluster", "ok", f"{kube.server} (from {kube.origin}), {kube.server_version()}"
        )

    try:
        yield _guard("cluster", cluster)
        kube = kube_box[0] if kube_box else None
        if kube is None:
            yield Check("namespace", "skip", "no cluster")
            yield Check("rbac", "skip", "no cluster")
        else:
            yield _guard("namespace", lambda: _namespace(kube, settings.cluster.namespace))
            yield _guard("rbac", lambda: _rbac(kube, "rbac", agent_permissions(settings)))
        yield from _delivery_checks(settings, kube)
        if settings.forge.enabled:
            yield _guard("forge", lambda: forge_check(settings))
    finally:
        for client in kube_box:
            client.close()


def _delivery_checks(settings: Settings, kube: KubeClient | None) -> Iterator[Check]:
    repo_box: list[CacheRepo] = []
    repository = _guard("repository", lambda: _repository(repo_box, settings))
    yield repository
    if settings.agent.role == "build":
        return
    if repository.result != "ok":
        for name in ("policy", "manifests", "apply-rbac"):
            yield Check(name, "skip", "no repository")
        return
    repo, env = repo_box[0], settings.agent.environment
    tip = repo.resolve(protocol.env_branch(env))
    policy_box: list[EnvironmentPolicy] = []

    def policy() -> Check:
        found = environment_policy_at(repo, tip, environment=env)
        policy_box.append(found)
        targets = ", ".join(found.promotion.to) or "nothing"
        return Check("policy", "ok", f"valid for {env}: path {found.path}, promotes to {targets}")

    yield _guard("policy", policy)
    if not policy_box:
        yield Check("manifests", "skip", "no valid policy")
        yield Check("apply-rbac", "skip", "no valid policy")
        return
    loaded: list[Manifest] = []

    def manifests() -> Check:
        loaded.extend(
            manifests_at(
                repo, tip, environment=env, policy=policy_box[0], params=settings.agent.params
            )
        )
        return Check("manifests", "ok", f"{len(loaded)} object(s) at {tip[:12]}")

    yield _guard("manifests", manifests)
    if kube is None or not loaded:
        yield Check("apply-rbac", "skip", "no cluster" if kube is None else "nothing to apply")
        return
    yield _guard("apply-rbac", lambda: _apply_rbac(kube, loaded))


def _apply_rbac(kube: KubeClient, manifests: list[Manifest]) -> Check:
    permissions, unknown = delivery_permissions(kube, manifests)
    check = _rbac(kube, "apply-rbac", permissions)
    if unknown and check.result == "ok":
        detail = (
            f"{check.detail}; unknown to the cluster (a CRD it delivers?): {', '.join(unknown)}"
        )
        return Check("apply-rbac", "warn", detail)
    return check
