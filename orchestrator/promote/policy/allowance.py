"""What an environment may apply: the cluster's ceiling, narrowed by the repository's policy.

The agent's settings come from the cluster and are the root of trust; the
policy file comes from the branch, which anyone with push access can change.
So the policy may only narrow the ceiling. A policy that asks for more is not
quietly clipped but refused, naming the field, so that what the platform team
wrote and what the agent does never differ without anyone noticing.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from orchestrator.errors import PolicyError
from orchestrator.objectref import ObjectRef
from orchestrator.promote.policy.schema import POLICY_PATH, Allow

_GLOB = frozenset("*?[")


class Ceiling(Protocol):
    """The agent's `trust.ceiling` settings (structurally; no import of settings here)."""

    @property
    def namespaces(self) -> list[str] | None: ...

    @property
    def kinds(self) -> list[str] | None: ...

    @property
    def cluster_scoped(self) -> bool: ...

    @property
    def secret_reads(self) -> bool: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class Allowance:
    """The effective allowance. `None` means any; an object must pass every field."""

    namespaces: tuple[str, ...] | None
    kinds: tuple[str, ...] | None
    cluster_scoped: bool
    secret_reads: bool

    def refusal(self, ref: ObjectRef, *, namespaced: bool) -> str | None:
        """Why `ref` may not be applied here, or None."""
        if not namespaced and not self.cluster_scoped:
            return f"{ref}: cluster-scoped kinds are not allowed in this environment"
        if self.kinds is not None and not kind_names(ref) & set(self.kinds):
            return f"{ref}: kind {ref.kind} is not in the allowed kinds"
        if (
            namespaced
            and self.namespaces is not None
            and not any(fnmatch.fnmatchcase(ref.namespace, p) for p in self.namespaces)
        ):
            return f"{ref}: namespace {ref.namespace} is not allowed"
        return None


def kind_names(ref: ObjectRef) -> set[str]:
    """The spellings of `ref`'s kind an allowance may use: `Kind` and `group/Kind`."""
    return {ref.kind, f"{ref.group}/{ref.kind}" if ref.group else ref.kind}


def effective_allowance(allow: Allow, ceiling: Ceiling, *, environment: str) -> Allowance:
    """The policy's `allow` within the cluster's ceiling; PolicyError if it asks for more.

    An empty list in the policy means "no narrowing": the ceiling applies as is.
    """
    field = f"environments.{environment}.allow"
    problems: list[str] = []
    if allow.cluster_scoped and not ceiling.cluster_scoped:
        problems.append(
            f"{field}.clusterScoped: the agent's ceiling (trust.ceiling.cluster_scoped) "
            "does not allow cluster-scoped objects"
        )
    namespaces = _narrow(
        allow.namespaces,
        ceiling.namespaces,
        within=_namespace_within,
        field=f"{field}.namespaces",
        setting="trust.ceiling.namespaces",
        problems=problems,
    )
    kinds = _narrow(
        allow.kinds,
        ceiling.kinds,
        within=_kind_within,
        field=f"{field}.kinds",
        setting="trust.ceiling.kinds",
        problems=problems,
    )
    if problems:
        raise PolicyError(POLICY_PATH, problems)
    return Allowance(
        namespaces=namespaces,
        kinds=kinds,
        cluster_scoped=allow.cluster_scoped and ceiling.cluster_scoped,
        secret_reads=ceiling.secret_reads,
    )


def _narrow(
    wanted: Sequence[str],
    ceiling: Sequence[str] | None,
    *,
    within: Callable[[str, Sequence[str]], bool],
    field: str,
    setting: str,
    problems: list[str],
) -> tuple[str, ...] | None:
    if not wanted:
        return None if ceiling is None else tuple(ceiling)
    if ceiling is not None:
        for index, item in enumerate(wanted):
            if not within(item, ceiling):
                problems.append(
                    f"{field}[{index}]: {item!r} is outside the agent's ceiling "
                    f"({setting}: {', '.join(ceiling) or 'nothing'})"
                )
    return tuple(wanted)


def _namespace_within(pattern: str, ceiling: Sequence[str]) -> bool:
    """Whether every namespace `pattern` matches is matched by a ceiling pattern.

    Exact for literal names; for globs it accepts only what it can prove: the
    same pattern, or a ceiling `prefix*` whose prefix the pattern starts with
    literally. Anything else is refused rather than guessed.
    """
    if not _GLOB & set(pattern):
        return any(fnmatch.fnmatchcase(pattern, c) for c in ceiling)
    for candidate in ceiling:
        if candidate == pattern:
            return True
        prefix = candidate[:-1]
        if candidate.endswith("*") and not _GLOB & set(prefix):
            head = pattern[: len(prefix)]
            if head == prefix and not _GLOB & set(head):
                return True
    return False


def _kind_within(kind: str, ceiling: Sequence[str]) -> bool:
    """`apps/Deployment` is within `Deployment`; `Deployment` (any group) is not within
    `apps/Deployment`."""
    if kind in ceiling:
        return True
    _, slash, bare = kind.rpartition("/")
    return bool(slash) and bare in ceiling
