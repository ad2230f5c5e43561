"""The writes other than apply: create, merge patch, replace (PUT) and delete.

A mixin of `KubeClient`, kept apart from it so the client module holds the
connection, discovery, reads and apply; these go through the same
`_request`, with the same errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.errors import NotFound
from orchestrator.kube.resource_type import ResourceType
from orchestrator.objectref import ObjectRef

_MERGE_PATCH = "application/merge-patch+json"


class WriteRequests:
    """Create, merge-patch, replace and delete on top of the client's request and discovery."""

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        raise NotImplementedError

    def _request(
        self,
        method: str,
        path: str,
        *,
        ref: ObjectRef | None,
        action: str,
        body: Any = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
    ) -> Any:
        raise NotImplementedError

    def create(self, obj: Mapping[str, Any], *, field_manager: str) -> dict[str, Any]:
        """POST a new object (for immutable runs created with generateName)."""
        ref = ObjectRef.of(dict(obj))
        rtype = self.resource_type(str(obj.get("apiVersion", "")), ref.kind)
        created: dict[str, Any] = self._request(
            "POST",
            rtype.path(namespace=ref.namespace),
            ref=ref,
            action="create",
            body=dict(obj),
            query=[("fieldManager", field_manager)],
            content_type="application/json",
        )
        return created

    def merge_patch(
        self,
        *,
        api_version: str,
        kind: str,
        name: str,
        namespace: str = "",
        patch: Mapping[str, Any],
    ) -> dict[str, Any]:
        rtype = self.resource_type(api_version, kind)
        ref = ObjectRef(group=rtype.group, kind=kind, namespace=namespace, name=name)
        patched: dict[str, Any] = self._request(
            "PATCH",
            rtype.path(namespace=namespace, name=name),
            ref=ref,
            action="patch",
            body=dict(patch),
            content_type=_MERGE_PATCH,
        )
        return patched

    def delete(
        self,
        *,
        api_version: str,
        kind: str,
        name: str,
        namespace: str = "",
        propagation: str = "Background",
        uid: str | None = None,
    ) -> bool:
        """Delete; False if it was already gone.

        With `uid` the API server deletes only the object of that uid (a delete
        precondition), so an object re-created under the same name since it was
        read survives; it answers 409, raised as `PreconditionFailed`.
        """
        rtype = self.resource_type(api_version, kind)
        ref = ObjectRef(group=rtype.group, kind=kind, namespace=namespace, name=name)
        body: dict[str, Any] = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "propagationPolicy": propagation,
        }
        if uid is not None:
            body["preconditions"] = {"uid": uid}
        try:
            self._request(
                "DELETE",
                rtype.path(namespace=namespace, name=name),
                ref=ref,
                action="delete",
                body=body,
                content_type="application/json",
            )
        except NotFound:
            return False
        return True

    def replace(self, obj: Mapping[str, Any], *, field_manager: str) -> dict[str, Any]:
        """PUT the whole object: with `metadata.resourceVersion` set, the write is conditional.

        If the object changed since that version was read, the server refuses with
        409 Conflict (a KubeError), which is how optimistic concurrency is had.
        """
        ref = ObjectRef.of(dict(obj))
        rtype = self.resource_type(str(obj.get("apiVersion", "")), ref.kind)
        replaced: dict[str, Any] = self._request(
            "PUT",
            rtype.path(namespace=ref.namespace, name=ref.name),
            ref=ref,
            action="replace",
            body=dict(obj),
            query=[("fieldManager", field_manager)],
            content_type="application/json",
        )
        return replaced
