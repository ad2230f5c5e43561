"""The agent's HTTP server: probes, metrics and the push webhook on one or two ports.

Default routes: GET /healthz, GET /readyz, GET /metrics, POST /hooks/git. More
are added with `server.routes.add(...)` (the pipeline page, POST /reconcile).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus

from orchestrator.settings import ServerSettings
from orchestrator.web.metrics import Metrics
from orchestrator.web.transport import (
    ALL_METHODS,
    Handler,
    Listener,
    Request,
    Response,
    Routes,
    Site,
)
from orchestrator.web.webhook import HOOK_PATH, Trigger, webhook_disabled, webhook_handler

log = logging.getLogger(__name__)

# readiness() says (ready, reason).
ReadinessCheck = Callable[[], tuple[bool, str]]

# Requests that make the agent act: the only paths a webhook port serves.
TRIGGER_PATHS = frozenset({HOOK_PATH, "/reconcile"})


def healthz(_: Request) -> Response:
    """Liveness: the process answers. Never depends on Git or the cluster, so an
    outage there does not make Kubernetes restart an agent that would just wait."""
    return Response.text(HTTPStatus.OK, "ok")


def readyz_handler(readiness: ReadinessCheck) -> Handler:
    def readyz(_: Request) -> Response:
        ready, reason = readiness()
        status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
        return Response.text(status, reason or ("ok" if ready else "not ready"))

    return readyz


def metrics_handler(metrics: Metrics) -> Handler:
    def serve_metrics(request: Request) -> Response:
        body, content_type = metrics.render(request.header("Accept") or "")
        return Response(HTTPStatus.OK, body, content_type)

    return serve_metrics


class AgentServer:
    """Serves `Routes` on `bind_address:port` from a background thread.

    With `webhook_port`, the trigger paths (TRIGGER_PATHS) are served on that port
    alone and the main port answers them 404: the webhook can then be exposed
    through an Ingress while probes, metrics and the pipeline page stay internal.
    """

    def __init__(
        self,
        *,
        bind_address: str,
        port: int,
        readiness: ReadinessCheck,
        metrics: Metrics,
        trigger: Trigger,
        webhook_secret: str | None,
        max_body_bytes: int = 1024 * 1024,
        request_timeout: float = 10.0,
        webhook_port: int | None = None,
    ) -> None:
        self.bind_address = bind_address
        self.requested_port = port
        self.requested_webhook_port = webhook_port
        self.max_body_bytes = max_body_bytes
        self.request_timeout = request_timeout
        self.routes = Routes()
        self.routes.add("/healthz", healthz)
        self.routes.add("/readyz", readyz_handler(readiness))
        self.routes.add("/metrics", metrics_handler(metrics))
        if webhook_secret:
            self.routes.add(HOOK_PATH, webhook_handler(webhook_secret, trigger), methods=("POST",))
        else:
            self.routes.add(HOOK_PATH, webhook_disabled, methods=ALL_METHODS)
        self._main: Listener | None = None
        self._hooks: Listener | None = None

    @classmethod
    def from_settings(
        cls,
        settings: ServerSettings,
        *,
        webhook_secret: str | None,
        readiness: ReadinessCheck,
        metrics: Metrics,
        trigger: Trigger,
    ) -> AgentServer:
        return cls(
            bind_address=settings.bind_address,
            port=settings.port,
            readiness=readiness,
            metrics=metrics,
            trigger=trigger,
            webhook_secret=webhook_secret,
            max_body_bytes=settings.max_body_bytes,
            request_timeout=settings.request_timeout_seconds,
            webhook_port=settings.webhook_port,
        )

    @property
    def port(self) -> int:
        """The port actually bound (differs from the setting when that was 0)."""
        if self._main is None:
            raise RuntimeError("the server is not running")
        return self._main.port

    @property
    def url(self) -> str:
        if self._main is None:
            raise RuntimeError("the server is not running")
        return self._main.url

    @property
    def webhook_url(self) -> str:
        """Where the trigger paths are served: the webhook port if there is one."""
        return self.url if self._hooks is None else self._hooks.url

    def _site(self, serves: Callable[[str], bool]) -> Site:
        return Site(
            routes=self.routes,
            serves=serves,
            max_body_bytes=self.max_body_bytes,
            request_timeout=self.request_timeout,
        )

    def start(self) -> None:
        if self._main is not None:
            raise RuntimeError("the server is already running")
        separate = self.requested_webhook_port is not None
        self._main = Listener(
            self._site(lambda path: not separate or path not in TRIGGER_PATHS),
            host=self.bind_address,
            port=self.requested_port,
            name="orchestrator-http",
        )
        log.info("serving HTTP on %s", self.url)
        if self.requested_webhook_port is not None:
            self._hooks = Listener(
                self._site(lambda path: path in TRIGGER_PATHS),
                host=self.bind_address,
                port=self.requested_webhook_port,
                name="orchestrator-webhook",
            )
            log.info("serving the webhook on %s", self.webhook_url)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting connections; requests in flight finish in their own threads."""
        for listener in (self._main, self._hooks):
            if listener is not None:
                listener.stop(timeout)
        self._main = self._hooks = None
