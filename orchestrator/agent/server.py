"""The agent's HTTP side: probes, metrics and the Git push webhook.

Standard library only (`ThreadingHTTPServer` in a thread): the traffic is a few
probe and scrape requests a minute, and a dependency-free server is one less thing
to patch. Handlers are plain functions from `Request` to `Response` in a `Routes`
table, so they can be tested without sockets and other pages can be added without
touching this module: `server.routes.add("/", page)` and
`server.routes.add("/api/pipeline", api)` is the extension point for the
read-only pipeline page.

Security: request bodies and secrets are never logged; the webhook compares
HMAC-SHA256 signatures in constant time; bodies larger than `max_body_bytes` are
refused before they are read.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from orchestrator.agent.metrics import Metrics
from orchestrator.settings import ServerSettings

log = logging.getLogger(__name__)

GITHUB_SIGNATURE_HEADER: Final = "X-Hub-Signature-256"
GENERIC_SIGNATURE_HEADER: Final = "X-Orchestrator-Signature"
GITHUB_EVENT_HEADER: Final = "X-GitHub-Event"
SIGNATURE_PREFIX: Final = "sha256="

_ALL_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "DELETE")
# A refused body is read and dropped up to this much, so the sender sees the 413.
_DISCARD_LIMIT: Final = 16 * 1024 * 1024
_DISCARD_TIMEOUT: Final = 1.0

# readiness() says (ready, reason); trigger(ref) requests a poll, True if one was.
ReadinessCheck = Callable[[], tuple[bool, str]]
Trigger = Callable[[str | None], bool]


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, read in full (bodies are small and size-limited)."""

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup (HTTP header names are)."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def text(cls, status: int, text: str) -> Response:
        return cls(status, (text + "\n").encode())

    @classmethod
    def json(cls, status: int, data: Any) -> Response:
        return cls(status, json.dumps(data).encode() + b"\n", "application/json")


Handler = Callable[[Request], Response]


class Routes:
    """Exact-path routing by method. Safe to extend while the server runs."""

    def __init__(self) -> None:
        self._routes: dict[str, dict[str, Handler]] = {}
        self._lock = threading.Lock()

    def add(self, path: str, handler: Handler, *, methods: Iterable[str] = ("GET",)) -> None:
        if not path.startswith("/"):
            raise ValueError(f"a route path starts with '/': {path!r}")
        with self._lock:
            table = self._routes.setdefault(path, {})
            for method in methods:
                table[method.upper()] = handler
                if method.upper() == "GET":
                    table.setdefault("HEAD", handler)

    def paths(self) -> list[str]:
        with self._lock:
            return sorted(self._routes)

    def dispatch(self, request: Request) -> Response:
        with self._lock:
            table = dict(self._routes.get(request.path, {}))
        if not table:
            return Response.text(HTTPStatus.NOT_FOUND, "not found")
        handler = table.get(request.method)
        if handler is None:
            allowed = ", ".join(sorted(table))
            return Response(
                HTTPStatus.METHOD_NOT_ALLOWED,
                b"method not allowed\n",
                headers=(("Allow", allowed),),
            )
        return handler(request)


# -- handlers -----------------------------------------------------------------------


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


def sign(secret: str | bytes, body: bytes) -> str:
    """The signature header value a sender computes: `sha256=<hex HMAC-SHA256 of body>`."""
    key = secret.encode() if isinstance(secret, str) else secret
    return SIGNATURE_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def signature_valid(secret: str | bytes, body: bytes, header_value: str) -> bool:
    """Constant-time check of one `sha256=<hex>` header value."""
    if not header_value.startswith(SIGNATURE_PREFIX):
        return False
    given = header_value[len(SIGNATURE_PREFIX) :].strip().lower()
    expected = sign(secret, body)[len(SIGNATURE_PREFIX) :]
    return hmac.compare_digest(given.encode(), expected.encode())


class PayloadError(ValueError):
    """The signed body is not a push payload we understand."""


def push_ref(request: Request) -> str | None:
    """The pushed ref of a GitHub push or a generic `{"ref": ...}` payload; None if absent.

    GitHub sends JSON, or a form with the JSON in `payload` when the hook is set
    to application/x-www-form-urlencoded. An empty body means "poll everything".
    """
    body = request.body
    if not body.strip():
        return None
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
        if content_type == "application/x-www-form-urlencoded":
            text = parse_qs(text).get("payload", [""])[0]
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"not a JSON payload: {type(exc).__name__}") from None
    if not isinstance(payload, dict):
        raise PayloadError("the payload is not a JSON object")
    ref = payload.get("ref")
    if ref is None:
        return None
    if not isinstance(ref, str) or not ref:
        raise PayloadError("'ref' must be a non-empty string")
    return ref


def webhook_disabled(_: Request) -> Response:
    """Without a secret nothing could be verified, so the hook does not exist."""
    return Response.text(HTTPStatus.NOT_FOUND, "webhook disabled (no secret configured)")


def webhook_handler(secret: str, trigger: Trigger) -> Handler:
    """POST /hooks/git: a signed push notification turns into an immediate poll."""
    if not secret:
        raise ValueError("the webhook needs a secret; use webhook_disabled without one")

    def hook(request: Request) -> Response:
        signatures = [
            value
            for value in (
                request.header(GITHUB_SIGNATURE_HEADER),
                request.header(GENERIC_SIGNATURE_HEADER),
            )
            if value
        ]
        if not signatures:
            return Response.text(HTTPStatus.UNAUTHORIZED, "missing signature")
        if not any(signature_valid(secret, request.body, value) for value in signatures):
            log.warning("webhook: rejected a request with a bad signature")
            return Response.text(HTTPStatus.UNAUTHORIZED, "bad signature")
        event = request.header(GITHUB_EVENT_HEADER)
        if event == "ping":
            return Response.json(HTTPStatus.OK, {"pong": True})
        if event is not None and event != "push":
            return Response.json(HTTPStatus.ACCEPTED, {"triggered": False, "event": event})
        try:
            ref = push_ref(request)
        except PayloadError as exc:
            return Response.text(HTTPStatus.BAD_REQUEST, str(exc))
        triggered = trigger(ref)
        log.info("webhook: push to %s, poll %s", ref or "(any ref)", triggered and "requested")
        return Response.json(HTTPStatus.ACCEPTED, {"ref": ref, "triggered": bool(triggered)})

    return hook


# -- the server -----------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    # A request still in flight must not keep the process from exiting after SIGTERM.
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


# Requests that make the agent act: the only paths a webhook port serves.
TRIGGER_PATHS = frozenset({"/hooks/git", "/reconcile"})


class AgentServer:
    """Serves `Routes` on `bind_address:port` from a background thread.

    Default routes: GET /healthz, GET /readyz, GET /metrics, POST /hooks/git.
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
            hook = webhook_handler(webhook_secret, trigger)
            self.routes.add("/hooks/git", hook, methods=("POST",))
        else:
            self.routes.add("/hooks/git", webhook_disabled, methods=_ALL_METHODS)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._hooks_httpd: _Server | None = None
        self._hooks_thread: threading.Thread | None = None

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
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return self._url(self.port)

    @property
    def webhook_url(self) -> str:
        """Where the trigger paths are served: the webhook port if there is one."""
        if self._hooks_httpd is None:
            return self.url
        return self._url(int(self._hooks_httpd.server_address[1]))

    def _url(self, port: int) -> str:
        host = self.bind_address
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def start(self) -> None:
        if self._httpd is not None:
            raise RuntimeError("the server is already running")
        separate = self.requested_webhook_port is not None
        self._httpd, self._thread = self._listen(
            self.requested_port,
            _handler_class(self, serves=lambda path: not separate or path not in TRIGGER_PATHS),
            name="orchestrator-http",
        )
        log.info("serving HTTP on %s", self.url)
        if self.requested_webhook_port is not None:
            self._hooks_httpd, self._hooks_thread = self._listen(
                self.requested_webhook_port,
                _handler_class(self, serves=lambda path: path in TRIGGER_PATHS),
                name="orchestrator-webhook",
            )
            log.info("serving the webhook on %s", self.webhook_url)

    def _listen(
        self, port: int, handler: type[BaseHTTPRequestHandler], *, name: str
    ) -> tuple[_Server, threading.Thread]:
        server_class = _Server6 if ":" in self.bind_address else _Server
        httpd = server_class((self.bind_address, port), handler)
        thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, name=name, daemon=True
        )
        thread.start()
        return httpd, thread

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting connections; requests in flight finish in their own threads."""
        for httpd, thread in ((self._httpd, self._thread), (self._hooks_httpd, self._hooks_thread)):
            if httpd is None:
                continue
            httpd.shutdown()
            httpd.server_close()
            if thread is not None:
                thread.join(timeout)
        self._httpd = self._hooks_httpd = None
        self._thread = self._hooks_thread = None


def _handler_class(
    server: AgentServer, *, serves: Callable[[str], bool]
) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        server_version = "orchestrator"
        sys_version = ""
        timeout = server.request_timeout

        def do_GET(self) -> None:
            self._handle()

        def do_HEAD(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            body = self._read_body()
            if body is None:
                return
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers=dict(self.headers.items()),
                body=body,
            )
            try:
                if serves(parts.path):
                    response = server.routes.dispatch(request)
                else:
                    response = Response.text(HTTPStatus.NOT_FOUND, "not served on this port")
            except Exception:
                log.exception("HTTP %s %s: handler failed", self.command, parts.path)
                response = Response.text(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")
            self._send(response)

        def _read_body(self) -> bytes | None:
            """The body, or None after answering 411/413 (without reading it)."""
            length_header = self.headers.get("Content-Length")
            if length_header is None:
                if self.headers.get("Transfer-Encoding"):
                    self._refuse(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
                    return None
                return b""
            try:
                length = int(length_header)
            except ValueError:
                self._refuse(HTTPStatus.BAD_REQUEST, "bad Content-Length")
                return None
            if length < 0:
                self._refuse(HTTPStatus.BAD_REQUEST, "bad Content-Length")
                return None
            if length > server.max_body_bytes:
                self._refuse(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"body larger than {server.max_body_bytes} bytes",
                )
                self._discard(length)
                return None
            return self.rfile.read(length) if length else b""

        def _refuse(self, status: int, text: str) -> None:
            self.close_connection = True
            self._send(Response.text(status, text), close=True)
            with contextlib.suppress(OSError):
                self.wfile.flush()

        def _discard(self, length: int) -> None:
            """Swallow (a bounded part of) a refused body, briefly.

            Closing a socket with unread data makes the kernel send a reset, and the
            sender would see a broken connection instead of our 413.
            """
            remaining = min(length, _DISCARD_LIMIT)
            with contextlib.suppress(OSError):
                self.connection.settimeout(_DISCARD_TIMEOUT)
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 64 * 1024))
                    if not chunk:
                        break
                    remaining -= len(chunk)

        def _send(self, response: Response, *, close: bool = False) -> None:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in response.headers:
                self.send_header(name, value)
            if close:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                with contextlib.suppress(OSError):
                    self.wfile.write(response.body)

        def log_message(self, format: str, *args: Any) -> None:
            # The default writes the request line (with any query string) to stderr;
            # log method, path and status only, at debug level.
            return

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            log.debug("HTTP %s %s -> %s", self.command, urlsplit(self.path).path, code)

    return _Handler
