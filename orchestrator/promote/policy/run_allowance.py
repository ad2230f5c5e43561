"""Verification runs stay inside the environment's allowance, like the delivery itself.

A run template is written by whoever can change the policy file, and the agent
creates what it says with its own cluster identity. Without this check a policy
could create any kind in any namespace (a Pod in `kube-system`) or, through a
selector, read a Secret into `$(selected...)$` and from there into a run's
outputs, which the note on the commit publishes to everyone with a clone.

So, before anything is applied:

- the run object (its kind and its literal namespace) must pass `allow` exactly
  as a delivered object would;
- the selector may only read from namespaces `allow` lets the delivery write to;
- the selector may read Secrets only when the cluster's ceiling says so
  (`secret_reads`); the repository cannot grant that itself.

All of it is decided on the policy alone, so the answers are pure.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Protocol

from orchestrator.health.run_template import RunTemplate
from orchestrator.objectref import ObjectRef


class Allows(Protocol):
    """An allowance: the effective one (`promote.policy.allowance`) or a policy's own `allow`."""

    @property
    def namespaces(self) -> Sequence[str] | None: ...

    def refusal(self, ref: ObjectRef, *, namespaced: bool) -> str | None: ...


__all__ = ["run_refusals"]


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def _template_refusals(template: RunTemplate, *, allow: Allows, secret_reads: bool) -> list[str]:
    where = f"verification run {template.name}"
    run = ObjectRef(
        group=_group(template.api_version),
        kind=template.kind,
        namespace=template.namespace,
        name=f"{template.name}-*",
    )
    found = []
    reason = allow.refusal(run, namespaced=True)
    if reason is not None:
        found.append(f"{where}: {reason}")
    selector = template.selector
    if selector is None:
        return found
    namespace = selector.namespace or template.namespace
    if selector.reads_secrets and not secret_reads:
        found.append(
            f"{where}: its selector reads Secrets in namespace {namespace}, and this "
            "cluster's ceiling does not allow verification runs to read Secrets"
        )
    read = ObjectRef(
        group=_group(selector.api_version),
        kind=selector.kind,
        namespace=namespace,
        name=selector.label_selector,
    )
    if allow.namespaces and not any(fnmatch.fnmatchcase(namespace, p) for p in allow.namespaces):
        found.append(f"{where}: its selector reads {read}: namespace {namespace} is not allowed")
    return found


def run_refusals(
    templates: Sequence[RunTemplate], *, allow: Allows, secret_reads: bool = False
) -> list[str]:
    """Why each of `templates` may not run here (empty: all may)."""
    found: list[str] = []
    for template in templates:
        found.extend(_template_refusals(template, allow=allow, secret_reads=secret_reads))
    return found
