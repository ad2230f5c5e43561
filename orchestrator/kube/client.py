"""The only module that talks to a Kubernetes API server (the only `kubernetes` importer).

Everything above it sees plain dicts and the project's own exceptions. Requests go
through the official client's dynamic client; responses are parsed as plain JSON
rather than into generated models, which keeps thousands of applies cheap.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import kubernetes.client
import kubernetes.config
import urllib3
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from orchestrator.errors import (
    ClusterUnreachable,
    NotFound,
    UnknownKind,
)
from orchestrator.kube.config import resolve_cluster
from orchestrator.kube.resource_type import ResourceType
from orchestrator.kube.translate import translate
from orchestrator.kube.writes import WriteRequests
from orchestrator.objectref import ObjectRef

__all__ = ["DEFAULT_REQUEST_TIMEOUT", "KubeClient", "ResourceType"]

_APPLY_PATCH = "application/apply-patch+yaml"
_METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
_METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
# Seconds for one request: connect, then read. A hung API server fails the
# reconcile (ClusterUnreachable) instead of hanging the agent.
DEFAULT_REQUEST_TIMEOUT = (10.0, 60.0)


class KubeClient(WriteRequests):
    """A connection to one cluster, with cached discovery."""

    def __init__(
        self,
        api_client: kubernetes.client.ApiClient,
        *,
        request_timeout: tuple[float, float] = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        self._api = api_client
        self._timeout = request_timeout
        self.server = str(api_client.configuration.host)
        self.origin = "explicit"  # where the settings came from, for logs
        # A private discovery cache: the library default is one file per host in /tmp,
        # shared (and stale) across clusters that reuse a port.
        self._cache_dir = tempfile.TemporaryDirectory(prefix="orchestrator-discovery-")
        cache_file = str(Path(self._cache_dir.name) / "discovery.json")
        try:
            self._dyn = DynamicClient(api_client, cache_file=cache_file)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterUnreachable(f"{self.server}: {exc}") from None
        except ApiException as exc:
            raise translate(exc, server=self.server, ref=None, action="discovery") from None
        self._types: dict[tuple[str, str], ResourceType] = {}
        self._lock = threading.Lock()

    # -- construction -------------------------------------------------------------

    @classmethod
    def connect(
        cls, *, kubeconfig: str | Path | None = None, context: str | None = None
    ) -> KubeClient:
        """The cluster the usual conventions point at (see `kube.config`); one-line errors."""
        source = resolve_cluster(
            kubeconfig=Path(kubeconfig) if kubeconfig is not None else None, context=context
        )
        config = kubernetes.client.Configuration()
        try:
            if source.in_cluster:
                kubernetes.config.load_incluster_config(client_configuration=config)
            else:
                kubernetes.config.load_kube_config(
                    config_file=os.pathsep.join(str(f) for f in source.files),
                    context=source.context,
                    client_configuration=config,
                    persist_config=False,
                )
        except (kubernetes.config.ConfigException, OSError, ValueError) as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ClusterUnreachable(f"cannot use {source.origin}: {detail}") from None
        client = cls._with_config(config)
        client.origin = source.origin
        return client

    @classmethod
    def from_kubeconfig(
        cls, path: str | Path | None = None, *, context: str | None = None
    ) -> KubeClient:
        """A kubeconfig file, or the conventional sources when `path` is None."""
        return cls.connect(kubeconfig=path, context=context)

    @classmethod
    def in_cluster(cls) -> KubeClient:
        config = kubernetes.client.Configuration()
        try:
            kubernetes.config.load_incluster_config(client_configuration=config)
        except kubernetes.config.ConfigException as exc:
            raise ClusterUnreachable(f"cannot use the in-cluster configuration: {exc}") from None
        return cls._with_config(config)

    @classmethod
    def _with_config(cls, config: kubernetes.client.Configuration) -> KubeClient:
        # Parallel applies share one pool; the default (5 per host) would serialise them.
        config.connection_pool_maxsize = 32
        config.retries = 2
        return cls(kubernetes.client.ApiClient(config))

    def close(self) -> None:
        self._api.close()
        self._cache_dir.cleanup()

    # -- discovery ----------------------------------------------------------------

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        """Resolve a kind; a miss re-reads discovery once (a CRD may have just appeared)."""
        key = (api_version, kind)
        cached = self._types.get(key)
        if cached is not None:
            return cached
        with self._lock:
            try:
                found = self._dyn.resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError:
                raise UnknownKind(
                    f"the API server does not serve kind {kind!r} in {api_version!r}"
                ) from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise ClusterUnreachable(f"{self.server}: {exc}") from None
            except ApiException as exc:
                raise translate(exc, server=self.server, ref=None, action="discovery") from None
            resolved = ResourceType(
                group=str(found.group or ""),
                version=str(found.api_version),
                kind=str(found.kind),
                plural=str(found.name),
                namespaced=bool(found.namespaced),
            )
            self._types[key] = resolved
            return resolved

    def resource_types(
        self, *, namespaced: bool | None = None, verb: str = ""
    ) -> list[ResourceType]:
        """Every kind discovery knows, at its preferred version (subresources left out).

        `namespaced` filters by scope; `verb` keeps kinds that support it (e.g. "list").
        """
        with self._lock:
            try:
                found = self._dyn.resources.search()
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise ClusterUnreachable(f"{self.server}: {exc}") from None
            except ApiException as exc:
                raise translate(exc, server=self.server, ref=None, action="discovery") from None
        types: dict[tuple[str, str], ResourceType] = {}
        for res in found:
            if type(res).__name__ != "Resource" or not getattr(res, "preferred", False):
                continue
            if "/" in str(res.name) or (verb and verb not in (res.verbs or [])):
                continue
            if namespaced is not None and bool(res.namespaced) != namespaced:
                continue
            rtype = ResourceType(
                group=str(res.group or ""),
                version=str(res.api_version),
                kind=str(res.kind),
                plural=str(res.name),
                namespaced=bool(res.namespaced),
            )
            types.setdefault((rtype.group, rtype.kind), rtype)
        return sorted(types.values(), key=lambda t: (t.group, t.kind))

    def forget_kinds(self) -> None:
        """Drop cached kinds so the next lookup sees CRDs applied since."""
        with self._lock:
            self._types.clear()
            self._dyn.resources.invalidate_cache()

    # -- requests -----------------------------------------------------------------

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
        params: dict[str, Any] = {
            "serialize": False,
            "query_params": list(query or []),
            "header_params": {"Accept": accept},
            "_request_timeout": self._timeout,
        }
        if content_type:
            params["content_type"] = content_type
        try:
            resp = self._dyn.request(method, path, body=body, **params)
        except ApiException as exc:
            raise translate(exc, server=self.server, ref=ref, action=action) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterUnreachable(f"{self.server}: {exc}", ref=ref) from None
        data = resp.data
        return json.loads(data) if data else None

    def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str,
        force: bool = False,
        dry_run: bool = False,
        metadata_only: bool = False,
    ) -> dict[str, Any]:
        """Server-side apply; returns the object as the server stored (or would store) it.

        With `metadata_only` the answer is only its metadata (a PartialObjectMetadata
        with apiVersion/kind put back): less for the server to encode and for us to
        parse when the caller needs no more than uid, resourceVersion, managedFields.
        """
        ref = ObjectRef.of(dict(obj))
        rtype = self.resource_type(str(obj.get("apiVersion", "")), ref.kind)
        query = [("fieldManager", field_manager), ("fieldValidation", "Strict")]
        if force:
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))
        result: dict[str, Any] = self._request(
            "PATCH",
            rtype.path(namespace=ref.namespace, name=ref.name),
            ref=ref,
            action="apply (dry run)" if dry_run else "apply",
            body=json.dumps(obj),
            query=query,
            content_type=_APPLY_PATCH,
            accept=_METADATA if metadata_only else "application/json",
        )
        if metadata_only:
            result["apiVersion"], result["kind"] = rtype.api_version, rtype.kind
        return result

    def get(
        self, *, api_version: str, kind: str, name: str, namespace: str = ""
    ) -> dict[str, Any] | None:
        """The live object, or None if it does not exist."""
        rtype = self.resource_type(api_version, kind)
        ref = ObjectRef(group=rtype.group, kind=kind, namespace=namespace, name=name)
        try:
            found: dict[str, Any] = self._request(
                "GET", rtype.path(namespace=namespace, name=name), ref=ref, action="get"
            )
        except NotFound:
            return None
        return found

    def list(
        self,
        *,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: str = "",
        metadata_only: bool = False,
    ) -> list[dict[str, Any]]:
        """All objects of a kind (in one namespace, or everywhere when empty), paged."""
        return list(
            self.iter_list(
                api_version=api_version,
                kind=kind,
                namespace=namespace,
                label_selector=label_selector,
                metadata_only=metadata_only,
            )
        )

    def iter_list(
        self,
        *,
        api_version: str,
        kind: str,
        namespace: str = "",
        label_selector: str = "",
        metadata_only: bool = False,
    ) -> Iterator[dict[str, Any]]:
        rtype = self.resource_type(api_version, kind)
        path = rtype.path(namespace=namespace)
        accept = _METADATA_LIST if metadata_only else "application/json"
        token = ""
        while True:
            query = [("limit", "500")]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if token:
                query.append(("continue", token))
            page = self._request(
                "GET", path, ref=None, action=f"list {kind}", query=query, accept=accept
            )
            for item in page.get("items") or []:
                # List items omit apiVersion/kind; put them back so callers see whole objects.
                item.setdefault("apiVersion", rtype.api_version)
                item.setdefault("kind", rtype.kind)
                yield item
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return

    def server_version(self) -> str:
        info = self._request("GET", "/version", ref=None, action="version")
        return str(info.get("gitVersion", ""))
