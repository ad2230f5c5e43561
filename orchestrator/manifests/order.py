"""Apply order as plain data: which objects go first, so each finds what it needs.

Four stages, applied one after another (the apply engine waits in between
where it must, e.g. for CRDs to be Established):

1. definitions: CustomResourceDefinitions and Namespaces. Any other object may
   be of a kind, or live in a namespace, that one of these creates.
2. cluster: the other cluster-scoped objects (ClusterRoles, StorageClasses,
   PriorityClasses, cluster-scoped custom resources); namespaced objects
   refer to them.
3. namespaced: everything that lives in a namespace.
4. webhooks: whatever makes the API server depend on the delivery itself:
   admission webhooks, admission policies and their bindings, APIServices.
   Applied earlier, a webhook whose backend is in this delivery refuses the
   delivery's own objects while its Service has no endpoints, an APIService
   without its backend breaks discovery for every client, and a new policy
   would judge the rest of the delivery halfway through its apply.

Inside a stage the order is fixed by kind (a ServiceAccount and its Secrets
before the workloads that mount them, a Service before its Deployment; kinds
not listed come after listed ones), then by ref (group, kind, namespace,
name): the same set of objects always gives the same order, whatever order
the files list them in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from orchestrator.manifests.manifest import Manifest
from orchestrator.manifests.scope import Scope, builtin_scope
from orchestrator.objectref import ObjectRef

_ADMISSION = "admissionregistration.k8s.io"

DEFINITIONS: frozenset[tuple[str, str]] = frozenset(
    {("apiextensions.k8s.io", "CustomResourceDefinition"), ("", "Namespace")}
)

WEBHOOKS: frozenset[tuple[str, str]] = frozenset(
    {
        (_ADMISSION, "MutatingWebhookConfiguration"),
        (_ADMISSION, "ValidatingWebhookConfiguration"),
        (_ADMISSION, "ValidatingAdmissionPolicy"),
        (_ADMISSION, "ValidatingAdmissionPolicyBinding"),
        (_ADMISSION, "MutatingAdmissionPolicy"),
        (_ADMISSION, "MutatingAdmissionPolicyBinding"),
        ("apiregistration.k8s.io", "APIService"),
    }
)

# Priority inside a stage; kinds not listed share the last place.
KIND_ORDER: tuple[tuple[str, str], ...] = (
    # definitions
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("", "Namespace"),
    # cluster-scoped: classes first, then what grants access
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "StorageClass"),
    ("networking.k8s.io", "IngressClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("", "PersistentVolume"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    # namespaced: policy and identity, configuration, network, workloads, around workloads
    ("", "ResourceQuota"),
    ("", "LimitRange"),
    ("", "ServiceAccount"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("", "Secret"),
    ("", "ConfigMap"),
    ("", "PersistentVolumeClaim"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("", "Service"),
    ("apps", "DaemonSet"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "ReplicaSet"),
    ("", "ReplicationController"),
    ("", "Pod"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("policy", "PodDisruptionBudget"),
    ("networking.k8s.io", "Ingress"),
    # webhooks: what is called goes before what calls it
    ("apiregistration.k8s.io", "APIService"),
    (_ADMISSION, "ValidatingAdmissionPolicy"),
    (_ADMISSION, "ValidatingAdmissionPolicyBinding"),
    (_ADMISSION, "MutatingAdmissionPolicy"),
    (_ADMISSION, "MutatingAdmissionPolicyBinding"),
    (_ADMISSION, "MutatingWebhookConfiguration"),
    (_ADMISSION, "ValidatingWebhookConfiguration"),
)
_PRIORITY = {key: index for index, key in enumerate(KIND_ORDER)}


class Stages(NamedTuple):
    """The delivery in apply order; iterate it for the four stages in turn."""

    definitions: tuple[Manifest, ...]
    cluster: tuple[Manifest, ...]
    namespaced: tuple[Manifest, ...]
    webhooks: tuple[Manifest, ...]


def stages(manifests: Iterable[Manifest], *, namespaced: Scope | None = None) -> Stages:
    """Split and sort `manifests` into the four apply stages.

    An object with a namespace is namespaced. For one without, `namespaced`
    (the kube layer's answer after discovery) is asked first, then the table
    of built-in kinds; an object nobody knows is treated as cluster-scoped.
    """
    buckets: tuple[list[Manifest], ...] = ([], [], [], [])
    for manifest in manifests:
        buckets[_stage(manifest.ref, namespaced)].append(manifest)
    return Stages._make(tuple(sorted(bucket, key=_sort_key)) for bucket in buckets)


def _stage(ref: ObjectRef, namespaced: Scope | None) -> int:
    key = (ref.group, ref.kind)
    if key in DEFINITIONS:
        return 0
    if key in WEBHOOKS:
        return 3
    if ref.namespace:
        return 2
    answer = namespaced(ref) if namespaced is not None else None
    if answer is None:
        answer = builtin_scope(ref)
    return 2 if answer else 1


def _sort_key(manifest: Manifest) -> tuple[int, ObjectRef]:
    return _PRIORITY.get((manifest.ref.group, manifest.ref.kind), len(KIND_ORDER)), manifest.ref
