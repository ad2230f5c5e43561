"""In which order the objects of one stage are applied: waves, and kinds interleaved.

Inside a stage of `manifests.order.stages`, objects go in waves, one after
the other, and the objects of a wave in parallel. In the namespaced stage a
wave is a group of kinds that do not depend on each other (`NAMESPACED_WAVES`);
elsewhere a wave is one kind, in the stage's order.
"""

from __future__ import annotations

from itertools import zip_longest

from orchestrator.manifests import Manifest
from orchestrator.manifests.order import KIND_ORDER

_PRIORITY = {key: index for index, key in enumerate(KIND_ORDER)}

_APPS, _BATCH, _RBAC = "apps", "batch", "rbac.authorization.k8s.io"
# The namespaced stage goes in these waves: what a kind of a later wave needs at
# admission or at start-up is in an earlier one (quota and limits before anything
# they judge, a ServiceAccount before the Pods and token Secrets naming it, a Role
# before the RoleBinding that grants it; configuration and Services before the
# workloads, so Pods find their ConfigMaps and see their Services' variables).
# Kinds of one wave do not depend on each other and are applied together; kinds
# not listed (HPAs, PDBs, Ingresses, custom resources) form the last wave.
NAMESPACED_WAVES: tuple[frozenset[tuple[str, str]], ...] = (
    frozenset({("", "ResourceQuota"), ("", "LimitRange"), ("", "ServiceAccount"), (_RBAC, "Role")}),
    frozenset(
        {
            (_RBAC, "RoleBinding"),
            ("", "Secret"),
            ("", "ConfigMap"),
            ("", "PersistentVolumeClaim"),
            ("networking.k8s.io", "NetworkPolicy"),
            ("", "Service"),
        }
    ),
    frozenset(
        {
            (_APPS, "DaemonSet"),
            (_APPS, "Deployment"),
            (_APPS, "StatefulSet"),
            (_APPS, "ReplicaSet"),
            ("", "ReplicationController"),
            ("", "Pod"),
            (_BATCH, "Job"),
            (_BATCH, "CronJob"),
        }
    ),
)
NAMESPACED_STAGE = 2  # index of `namespaced` in manifests.order.Stages
_NAMESPACED_WAVE = {key: index for index, wave in enumerate(NAMESPACED_WAVES) for key in wave}


def priority(manifest: Manifest) -> int:
    return _PRIORITY.get((manifest.ref.group, manifest.ref.kind), len(KIND_ORDER))


def namespaced_wave(manifest: Manifest) -> int:
    return _NAMESPACED_WAVE.get((manifest.ref.group, manifest.ref.kind), len(NAMESPACED_WAVES))


def interleaved(manifests: list[Manifest]) -> list[Manifest]:
    """Round robin over kinds, keeping each kind's own order."""
    by_kind: dict[tuple[str, str], list[Manifest]] = {}
    for manifest in manifests:
        by_kind.setdefault((manifest.ref.group, manifest.ref.kind), []).append(manifest)
    if len(by_kind) < 2:
        return manifests
    return [m for row in zip_longest(*by_kind.values()) for m in row if m is not None]
