"""Many refusals of one delivery as one error that names every object and why."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.errors import DryRunFailed, FieldConflict, KubeError, UnknownKind
from orchestrator.manifests import Manifest


def unknown_kinds(unknown: Sequence[tuple[Manifest, UnknownKind]]) -> UnknownKind:
    def line(manifest: Manifest) -> str:
        return (
            f"{manifest.path}: {manifest.ref}: kind {manifest.ref.kind!r} of "
            f"apiVersion {manifest.api_version!r} is not served by the cluster"
        )

    if len(unknown) == 1:
        manifest, exc = unknown[0]
        reason = f"kind {manifest.ref.kind!r} of apiVersion {manifest.api_version!r} is unknown"
        return UnknownKind(
            f"{reason} to the cluster (file {manifest.path})", ref=manifest.ref, reason=exc.reason
        )
    lines = "\n".join(f"  {line(m)}" for m, _ in unknown)
    return UnknownKind(f"{len(unknown)} objects are of kinds the cluster does not serve:\n{lines}")


def rejected(rejections: Sequence[tuple[Manifest, KubeError]]) -> KubeError:
    conflicts = [err for _, err in rejections if isinstance(err, FieldConflict)]
    if len(conflicts) == len(rejections):
        if len(conflicts) == 1:
            return conflicts[0]
        managers = list(dict.fromkeys(m for c in conflicts for m in c.managers))
        lines = "\n".join(f"  {c}" for c in conflicts)
        return FieldConflict(
            f"dry run: {len(conflicts)} objects conflict with other field managers "
            f"({', '.join(managers)}); nothing was applied:\n{lines}",
            managers=managers,
            conflicts=conflicts,
        )
    return DryRunFailed([(m.ref, err.reason) for m, err in rejections])
