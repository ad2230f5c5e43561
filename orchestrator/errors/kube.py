"""The cluster side: each error names its object as Kind/namespace/name."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.errors.base import OrchestratorError
from orchestrator.objectref import ObjectRef


class KubeError(OrchestratorError):
    """A Kubernetes API call failed, for the object named in the message.

    `reason` is the API server's own words when it gave any (else the message),
    without the object's name in front: what a report lists next to the ref.
    """

    def __init__(self, message: str, *, ref: ObjectRef | None = None, reason: str = "") -> None:
        self.ref = ref
        self.reason = reason or message
        super().__init__(f"{ref}: {message}" if ref is not None else message)


class ClusterUnreachable(KubeError):
    """The API server did not answer."""


class Forbidden(KubeError):
    """The API server refused the agent's identity (401) or RBAC denied it (403)."""


class NotFound(KubeError):
    """The object (or its namespace) does not exist."""


class PreconditionFailed(KubeError):
    """A delete with a uid precondition met another object of that name (409)."""


class UnknownKind(KubeError):
    """API discovery does not know this apiVersion/kind."""


class DryRunFailed(KubeError):
    """The server-side dry run rejected one or more objects; nothing was applied."""

    def __init__(self, rejections: Sequence[tuple[ObjectRef, str]]) -> None:
        self.rejections = list(rejections)
        lines = "\n".join(f"  {ref}: {reason}" for ref, reason in self.rejections)
        super().__init__(f"dry run rejected {len(self.rejections)} object(s):\n{lines}")


class ApplyFailed(KubeError):
    """Server-side apply failed after a successful dry run.

    For one object `ref` names it; when several objects of one stage failed,
    `errors` holds each of them (and `ref` is None).
    """

    def __init__(
        self,
        message: str,
        *,
        ref: ObjectRef | None = None,
        reason: str = "",
        errors: Sequence[KubeError] = (),
    ) -> None:
        self.errors = list(errors)
        super().__init__(message, ref=ref, reason=reason)


class FieldConflict(KubeError):
    """Another field manager owns fields we set, and the policy does not force.

    `managers` are the other managers, `fields` the contested field paths. When
    several objects conflict, `conflicts` holds one FieldConflict per object.
    """

    def __init__(
        self,
        message: str,
        *,
        ref: ObjectRef | None = None,
        reason: str = "",
        managers: Sequence[str] = (),
        fields: Sequence[str] = (),
        conflicts: Sequence[FieldConflict] = (),
    ) -> None:
        self.managers = list(managers)
        self.fields = list(fields)
        self.conflicts = list(conflicts)
        super().__init__(message, ref=ref, reason=reason)


class PruneFailed(KubeError):
    """Objects that left the delivery could not be deleted; `errors` has each failure."""

    def __init__(
        self,
        message: str,
        *,
        ref: ObjectRef | None = None,
        reason: str = "",
        errors: Sequence[KubeError] = (),
    ) -> None:
        self.errors = list(errors)
        super().__init__(message, ref=ref, reason=reason)


class InventoryError(KubeError):
    """The record of what this environment applied cannot be read or written."""
