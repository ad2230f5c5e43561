"""What a delivery's own CustomResourceDefinitions define, read from their manifests."""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.kube.wait import CRD_GROUP, CRD_KIND
from orchestrator.manifests import Manifest


def crd_kind(manifest: Manifest) -> tuple[str, str]:
    spec = manifest.body.get("spec") or {}
    names = spec.get("names") or {}
    return str(spec.get("group", "")), str(names.get("kind", ""))


def defined_kinds(manifests: Iterable[Manifest]) -> dict[tuple[str, str], set[str]]:
    """(group, kind) -> versions, for the kinds the delivery's own CRDs define."""
    defined: dict[tuple[str, str], set[str]] = {}
    for manifest in manifests:
        if (manifest.ref.group, manifest.ref.kind) != (CRD_GROUP, CRD_KIND):
            continue
        versions = (manifest.body.get("spec") or {}).get("versions") or []
        names = {str(v.get("name")) for v in versions if isinstance(v, dict) and v.get("name")}
        defined.setdefault(crd_kind(manifest), set()).update(names)
    return defined
