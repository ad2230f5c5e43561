"""Whether a kind is namespaced, as far as we can tell without asking a cluster.

Built-in kinds are listed here by (API group, kind); custom resources are
answered by their CustomResourceDefinition when the delivery ships one, and
otherwise only by the caller (the kube layer, after API discovery). A scope
function returns True (namespaced), False (cluster-scoped) or None (unknown).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from orchestrator.objectref import ObjectRef

Scope = Callable[[ObjectRef], bool | None]

CLUSTER_SCOPED: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("node.k8s.io", "RuntimeClass"),
        ("policy", "PodSecurityPolicy"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "ResourceSlice"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
    }
)

NAMESPACED: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "ConfigMap"),
        ("", "Endpoints"),
        ("", "Event"),
        ("", "LimitRange"),
        ("", "PersistentVolumeClaim"),
        ("", "Pod"),
        ("", "PodTemplate"),
        ("", "ReplicationController"),
        ("", "ResourceQuota"),
        ("", "Secret"),
        ("", "Service"),
        ("", "ServiceAccount"),
        ("apps", "ControllerRevision"),
        ("apps", "DaemonSet"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "StatefulSet"),
        ("autoscaling", "HorizontalPodAutoscaler"),
        ("batch", "CronJob"),
        ("batch", "Job"),
        ("coordination.k8s.io", "Lease"),
        ("discovery.k8s.io", "EndpointSlice"),
        ("events.k8s.io", "Event"),
        ("networking.k8s.io", "Ingress"),
        ("networking.k8s.io", "NetworkPolicy"),
        ("policy", "PodDisruptionBudget"),
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("resource.k8s.io", "ResourceClaim"),
        ("resource.k8s.io", "ResourceClaimTemplate"),
        ("storage.k8s.io", "CSIStorageCapacity"),
    }
)


def builtin_scope(ref: ObjectRef) -> bool | None:
    """The scope of a built-in kind; None for anything else."""
    key = (ref.group, ref.kind)
    if key in CLUSTER_SCOPED:
        return False
    if key in NAMESPACED:
        return True
    return None


def crd_scopes(objects: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], bool]:
    """(group, kind) -> namespaced, from the well-formed CRDs among `objects`."""
    scopes: dict[tuple[str, str], bool] = {}
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        if not str(obj.get("apiVersion", "")).startswith("apiextensions.k8s.io/"):
            continue
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            continue
        names = spec.get("names")
        group, scope = spec.get("group"), spec.get("scope")
        kind = names.get("kind") if isinstance(names, dict) else None
        if isinstance(group, str) and isinstance(kind, str) and scope in ("Namespaced", "Cluster"):
            scopes[(group, kind)] = scope == "Namespaced"
    return scopes


def chain(*scopes: Scope | None) -> Scope:
    """Ask each scope function in turn; the first that knows answers."""
    known = [scope for scope in scopes if scope is not None]

    def scope(ref: ObjectRef) -> bool | None:
        for ask in known:
            answer = ask(ref)
            if answer is not None:
                return answer
        return None

    return scope


def table_scope(table: Mapping[tuple[str, str], bool]) -> Scope:
    """A scope function over a (group, kind) table."""
    return lambda ref: table.get((ref.group, ref.kind))
