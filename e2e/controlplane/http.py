"""A tiny HTTPS client for the harness itself (readiness, seeding a node).

The harness must not depend on the product's Kubernetes layer, which is what the
tests exercise; plain `http.client` with the cluster's own CA is enough here.
"""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Response:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class ApiClient:
    """Requests against one apiserver, with a client certificate, a bearer token or neither."""

    def __init__(
        self,
        *,
        port: int,
        ca_cert: Path,
        client_cert: Path | None = None,
        client_key: Path | None = None,
        token: str | None = None,
    ) -> None:
        self.port = port
        self.token = token
        self.context = ssl.create_default_context(cafile=str(ca_cert))
        if client_cert is not None and client_key is not None:
            self.context.load_cert_chain(str(client_cert), str(client_key))

    def request(
        self, method: str, path: str, body: Any = None, *, content_type: str = "application/json"
    ) -> Response:
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=10)
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            conn.request(method, path, body=payload, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Response(status=resp.status, body=parsed)
