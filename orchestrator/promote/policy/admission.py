"""The last guard before apply: what the revision's objects and runs may not do here.

One function for the agent's NOT_ALLOWED stage and for `orchestrator validate`,
so the two can only differ in what they know about the cluster (the agent asks
API discovery about kinds neither the built-in table nor the delivery's CRDs
know; validate, without a cluster, goes by whether the object names a namespace).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from orchestrator.health.run_template import RunTemplate
from orchestrator.manifests import Manifest
from orchestrator.manifests.scope import builtin_scope, chain, crd_scopes, table_scope
from orchestrator.promote.policy.run_allowance import Allows, run_refusals

Lookup = Callable[[Manifest], bool | None]  # the cluster's answer, None when it has none


def admission_refusals(
    manifests: Sequence[Manifest],
    *,
    runs: Sequence[RunTemplate],
    allow: Allows,
    secret_reads: bool,
    lookup: Lookup | None = None,
) -> list[str]:
    """Why each object or verification run is outside `allow` (empty: all may go)."""
    scope = chain(builtin_scope, table_scope(crd_scopes(m.body for m in manifests)))
    refusals = []
    for manifest in manifests:
        namespaced = scope(manifest.ref)
        if namespaced is None and lookup is not None:
            namespaced = lookup(manifest)
        if namespaced is None:
            namespaced = bool(manifest.ref.namespace)
        reason = allow.refusal(manifest.ref, namespaced=namespaced)
        if reason is not None:
            refusals.append(f"{manifest.path}: {reason}")
    # Runs are created with the agent's identity too: the same allowance binds them.
    return refusals + run_refusals(runs, allow=allow, secret_reads=secret_reads)
