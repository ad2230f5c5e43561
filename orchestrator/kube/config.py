"""Which cluster to talk to: the conventions every Kubernetes client follows.

Strongest first (controller-runtime's `GetConfig` order, which kubectl users expect):

1. an explicit kubeconfig (`--kubeconfig`, or the `cluster.kubeconfig` setting);
2. `$KUBECONFIG`, one or more files joined by the path separator (`:`), merged;
3. the pod's ServiceAccount, when running in a cluster (`KUBERNETES_SERVICE_HOST`);
4. `~/.kube/config`.

`$KUBECONFIG` comes before in-cluster so that a pod told which cluster to use is
obeyed. A context (`--context`) only exists in a kubeconfig, so it skips step 3.
When nothing applies, one line says what was tried. Plain values, no client library:
`kube.client` turns the answer into a connection.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import ClusterUnreachable

IN_CLUSTER_HOST_ENV = "KUBERNETES_SERVICE_HOST"
IN_CLUSTER_PORT_ENV = "KUBERNETES_SERVICE_PORT"
KUBECONFIG_ENV = "KUBECONFIG"


@dataclass(frozen=True, slots=True)
class ClusterSource:
    """Where the connection settings come from: kubeconfig files, or the pod (no files)."""

    files: tuple[Path, ...]
    context: str | None
    origin: str  # for logs and errors: "--kubeconfig", "$KUBECONFIG", "in-cluster", ...

    @property
    def in_cluster(self) -> bool:
        return not self.files


def resolve_cluster(
    *,
    kubeconfig: Path | None,
    context: str | None,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> ClusterSource:
    """The first source that applies, or ClusterUnreachable naming every one tried."""
    env = os.environ if environ is None else environ
    if kubeconfig is not None:
        if not kubeconfig.is_file():
            raise ClusterUnreachable(f"kubeconfig {kubeconfig} does not exist (--kubeconfig)")
        return ClusterSource(files=(kubeconfig,), context=context, origin=str(kubeconfig))
    listed = [Path(p) for p in env.get(KUBECONFIG_ENV, "").split(os.pathsep) if p]
    if listed:
        found = tuple(p for p in listed if p.is_file())
        if not found:
            names = ", ".join(str(p) for p in listed)
            raise ClusterUnreachable(f"$KUBECONFIG names no existing file: {names}")
        return ClusterSource(files=found, context=context, origin="$KUBECONFIG")
    in_pod = bool(env.get(IN_CLUSTER_HOST_ENV) and env.get(IN_CLUSTER_PORT_ENV))
    if in_pod and context is None:
        return ClusterSource(files=(), context=None, origin="in-cluster")
    default = (home if home is not None else Path.home()) / ".kube" / "config"
    if default.is_file():
        return ClusterSource(files=(default,), context=context, origin=str(default))
    if in_pod:
        raise ClusterUnreachable(
            f"--context {context} needs a kubeconfig, and neither $KUBECONFIG nor "
            f"{default} exists (in a cluster, leave the context unset)"
        )
    raise ClusterUnreachable(
        f"no cluster configured: not in a cluster (${IN_CLUSTER_HOST_ENV} unset), "
        f"${KUBECONFIG_ENV} unset, {default} missing; pass --kubeconfig "
        "or set cluster.kubeconfig (ORCHESTRATOR_CLUSTER__KUBECONFIG)"
    )
