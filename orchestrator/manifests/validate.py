"""Is a document a well-formed Kubernetes object, and is every object given once?

The rule is: reject what the API server would surely reject, never more.
- apiVersion is `version` or `group/version` (group a DNS subdomain, version
  a DNS label); kind is a DNS-1035 label once lowercased (the rule the API
  server applies to CRD kinds).
- metadata.name is required (server-side apply cannot use generateName) and
  is a string of at most 253 characters that is a valid URL path segment
  (not `.` or `..`, no `/` or `%`): every kind needs that. Built-in kinds
  known to demand more get it: Namespace a DNS label, Service a DNS-1035
  label, most others a DNS subdomain. RBAC kinds allow names like
  `system:viewer`, and kinds we do not know (custom resources, aggregated
  APIs) get only the general rule.
- A CustomResourceDefinition is named `<spec.names.plural>.<spec.group>`.
- metadata.namespace, when set, is a DNS label. Kinds known to be
  cluster-scoped must not set it; namespaced kinds without one get the
  caller's default namespace, or are an error if there is none. A kind of
  unknown scope keeps what it says (the kube layer decides after discovery).
- labels and annotations are mappings of strings to strings (`version: 1.0`
  is a float to YAML, and the API server refuses it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from orchestrator.errors import DuplicateObject, InvalidObject
from orchestrator.manifests.manifest import Manifest
from orchestrator.manifests.scope import Scope
from orchestrator.objectref import ObjectRef

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = re.compile(_LABEL)
DNS1123_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_KIND = re.compile(r"[A-Za-z]([-A-Za-z0-9]*[A-Za-z0-9])?")

LABEL = "a DNS label (lowercase letters, digits and '-', at most 63)"
SUBDOMAIN = "a DNS subdomain (lowercase letters, digits, '-' and '.', at most 253)"
DNS1035 = "a DNS-1035 label (a DNS label starting with a letter)"

# Built-in kinds whose names the API server checks more strictly than a path segment.
NAME_RULES: dict[tuple[str, str], str] = {
    ("", "Namespace"): LABEL,
    ("", "Service"): DNS1035,
    **dict.fromkeys(
        [
            ("", "ConfigMap"),
            ("", "LimitRange"),
            ("", "Node"),
            ("", "PersistentVolume"),
            ("", "PersistentVolumeClaim"),
            ("", "Pod"),
            ("", "PodTemplate"),
            ("", "ReplicationController"),
            ("", "ResourceQuota"),
            ("", "Secret"),
            ("", "ServiceAccount"),
            ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
            ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
            ("apiextensions.k8s.io", "CustomResourceDefinition"),
            ("apps", "DaemonSet"),
            ("apps", "Deployment"),
            ("apps", "ReplicaSet"),
            ("apps", "StatefulSet"),
            ("autoscaling", "HorizontalPodAutoscaler"),
            ("batch", "CronJob"),
            ("batch", "Job"),
            ("coordination.k8s.io", "Lease"),
            ("networking.k8s.io", "Ingress"),
            ("networking.k8s.io", "IngressClass"),
            ("networking.k8s.io", "NetworkPolicy"),
            ("policy", "PodDisruptionBudget"),
            ("scheduling.k8s.io", "PriorityClass"),
            ("storage.k8s.io", "StorageClass"),
        ],
        SUBDOMAIN,
    ),
}

_PATTERNS = {LABEL: DNS1123_LABEL, SUBDOMAIN: DNS1123_SUBDOMAIN, DNS1035: DNS1035_LABEL}
_MAX_LENGTH = {LABEL: 63, SUBDOMAIN: 253, DNS1035: 63}


def best_ref(obj: Any) -> ObjectRef | None:
    """The object's ref for error messages, when kind and name are at least strings."""
    if not isinstance(obj, dict):
        return None
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(obj.get("kind"), str):
        return None
    if not isinstance(meta.get("name"), str) or not isinstance(meta.get("namespace", ""), str):
        return None
    return ObjectRef.of(obj)


def validate_object(
    obj: dict[str, Any],
    *,
    path: str,
    where: str,
    scope: Scope,
    default_namespace: str | None,
) -> dict[str, Any]:
    """The object as it will be applied (namespace filled in), or InvalidObject with every problem.

    `where` locates the object in its file ("document 3") for errors that
    cannot name it by Kind/namespace/name.
    """
    problems = _type_problems(obj)
    if problems:
        ref = best_ref(obj)
        message = "; ".join(problems)
        raise InvalidObject(message if ref else f"{where}: {message}", path=path, ref=ref)
    meta: dict[str, Any] = obj["metadata"]
    ref = ObjectRef.of(obj)
    problems = _content_problems(obj, ref)
    namespace = meta.get("namespace") or ""
    namespaced = scope(ref)
    if namespaced is False and namespace:
        problems.append(f"{ref.kind} is cluster-scoped and must not set metadata.namespace")
    if namespaced and not namespace:
        if default_namespace is None:
            problems.append(
                f"{ref.kind} is namespaced, metadata.namespace is not set "
                "and no default namespace is configured"
            )
        else:
            obj = {**obj, "metadata": {**meta, "namespace": default_namespace}}
            ref = ObjectRef.of(obj)
    if problems:
        raise InvalidObject("; ".join(problems), path=path, ref=ref)
    return obj


def _type_problems(obj: dict[str, Any]) -> list[str]:
    """What stops us from even naming the object."""
    problems: list[str] = []
    api_version, kind, meta = obj.get("apiVersion"), obj.get("kind"), obj.get("metadata")
    if not isinstance(api_version, str) or not api_version:
        problems.append("apiVersion is missing or not a string")
    elif not _valid_api_version(api_version):
        problems.append(f"apiVersion {api_version!r} is not `version` or `group/version`")
    if not isinstance(kind, str) or not kind:
        problems.append("kind is missing or not a string")
    elif len(kind) > 63 or not _KIND.fullmatch(kind):
        problems.append(f"kind {kind!r} is not a valid kind name")
    if not isinstance(meta, dict):
        problems.append("metadata is missing or not a mapping")
        return problems
    name, namespace = meta.get("name"), meta.get("namespace")
    if name is None:
        if "generateName" in meta:
            problems.append("metadata.name is required: server-side apply cannot use generateName")
        else:
            problems.append("metadata.name is missing")
    elif not isinstance(name, str):
        problems.append(f"metadata.name {name!r} is not a string; quote it")
    if namespace is not None and not isinstance(namespace, str):
        problems.append(f"metadata.namespace {namespace!r} is not a string; quote it")
    return problems


def _content_problems(obj: dict[str, Any], ref: ObjectRef) -> list[str]:
    problems: list[str] = []
    meta: dict[str, Any] = obj["metadata"]
    name_problem = _name_problem(ref)
    if name_problem:
        problems.append(name_problem)
    if ref.namespace and (len(ref.namespace) > 63 or not DNS1123_LABEL.fullmatch(ref.namespace)):
        problems.append(f"metadata.namespace {ref.namespace!r} must be {LABEL}")
    for field in ("labels", "annotations"):
        value = meta.get(field)
        if value is None:
            continue
        if not isinstance(value, dict):
            problems.append(f"metadata.{field} must be a mapping")
            continue
        bad = sorted(k for k, v in value.items() if not isinstance(v, str))
        if bad:
            problems.append(
                f"metadata.{field} values must be strings (quote them): {', '.join(bad)}"
            )
    if (ref.group, ref.kind) == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        spec = obj.get("spec")
        names = spec.get("names") if isinstance(spec, dict) else None
        plural = names.get("plural") if isinstance(names, dict) else None
        group = spec.get("group") if isinstance(spec, dict) else None
        if isinstance(plural, str) and isinstance(group, str) and ref.name != f"{plural}.{group}":
            problems.append(f"a CustomResourceDefinition must be named {plural}.{group}")
    return problems


def _valid_api_version(api_version: str) -> bool:
    group, slash, version = api_version.rpartition("/")
    if slash and (len(group) > 253 or not DNS1123_SUBDOMAIN.fullmatch(group)):
        return False
    return len(version) <= 63 and DNS1123_LABEL.fullmatch(version) is not None


def _name_problem(ref: ObjectRef) -> str | None:
    name = ref.name
    if not name:
        return "metadata.name is empty"
    if len(name) > 253:
        return "metadata.name is longer than 253 characters"
    if name in (".", "..") or "/" in name or "%" in name:
        return f"metadata.name {name!r} cannot be '.' or '..' or contain '/' or '%'"
    rule = NAME_RULES.get((ref.group, ref.kind))
    if rule and (len(name) > _MAX_LENGTH[rule] or not _PATTERNS[rule].fullmatch(name)):
        return f"metadata.name {name!r} must be {rule} for a {ref.kind}"
    return None


def duplicates(manifests: Iterable[Manifest]) -> list[DuplicateObject]:
    """One error for every object defined again after its first definition, naming both files."""
    first: dict[ObjectRef, Manifest] = {}
    errors: list[DuplicateObject] = []
    for manifest in manifests:
        seen = first.setdefault(manifest.ref, manifest)
        if seen is manifest:
            continue
        where = "earlier in this file" if seen.path == manifest.path else f"in {seen.path}"
        errors.append(
            DuplicateObject(f"defined twice: also {where}", path=manifest.path, ref=manifest.ref)
        )
    return errors
