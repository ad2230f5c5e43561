"""Wait for CustomResourceDefinitions to be Established before their resources are applied."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from orchestrator.errors import ApplyFailed
from orchestrator.kube.client import KubeClient
from orchestrator.objectref import ObjectRef

CRD_GROUP = "apiextensions.k8s.io"
CRD_API_VERSION = f"{CRD_GROUP}/v1"
CRD_KIND = "CustomResourceDefinition"


def crd_ref(name: str) -> ObjectRef:
    return ObjectRef(group=CRD_GROUP, kind=CRD_KIND, namespace="", name=name)


def condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """The status condition of type `kind`, if the object has one."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == kind:
            return cond
    return None


def wait_established(
    client: KubeClient, names: Iterable[str], *, timeout: float, interval: float = 0.2
) -> None:
    """Return once every named CRD is Established; ApplyFailed when one cannot be.

    A CRD whose names were refused (NamesAccepted=False, e.g. a plural another
    CRD already uses) fails at once: waiting would not change it.
    """
    remaining = set(names)
    deadline = time.monotonic() + timeout
    last: dict[str, str] = {}
    while remaining:
        for name in sorted(remaining):
            obj = client.get(api_version=CRD_API_VERSION, kind=CRD_KIND, name=name)
            if obj is None:
                last[name] = "not found"
                continue
            accepted = condition(obj, "NamesAccepted")
            if accepted is not None and accepted.get("status") == "False":
                raise ApplyFailed(
                    f"names not accepted: {accepted.get('message') or accepted.get('reason')}",
                    ref=crd_ref(name),
                )
            established = condition(obj, "Established")
            if established is not None and established.get("status") == "True":
                remaining.discard(name)
            else:
                last[name] = str((established or {}).get("message") or "no Established condition")
        if not remaining:
            return
        if time.monotonic() >= deadline:
            name = sorted(remaining)[0]
            raise ApplyFailed(
                f"not Established after {timeout:g}s: {last.get(name, '')}", ref=crd_ref(name)
            )
        time.sleep(interval)
