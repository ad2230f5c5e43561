"""Requests in, responses out: routing and one listening socket served from a thread.

Standard library only (`ThreadingHTTPServer`): the traffic is a few probe and
scrape requests a minute, and a dependency-free server is one less thing to
patch. Handlers are plain functions from `Request` to `Response` in a `Routes`
table, so they are tested without sockets and pages are added without touching
this module (`routes.add("/", page)`).

Request bodies are never logged; bodies larger than `max_body_bytes` are refused
before they are read.
"""

from __future__ import annotations

import contextlib
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

log = logging.getLogger(__name__)

ALL_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "DELETE")
# A refused body is read and dropped up to this much, so the sender sees the 413.
_DISCARD_LIMIT: Final = 16 * 1024 * 1024
_DISCARD_TIMEOUT: Final = 1.0


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


@dataclass(frozen=True)
class Site:
    """What one listening socket serves: the routes, the paths it answers, its limits."""

    routes: Routes
    serves: Callable[[str], bool]
    max_body_bytes: int
    request_timeout: float

    def answer(self, request: Request) -> Response:
        """The routed response; a failing handler is a 500, not a dropped connection."""
        try:
            if not self.serves(request.path):
                return Response.text(HTTPStatus.NOT_FOUND, "not served on this port")
            return self.routes.dispatch(request)
        except Exception:
            log.exception("HTTP %s %s: handler failed", request.method, request.path)
            return Response.text(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")


class _RequestHandler(BaseHTTPRequestHandler):
    """Reads a request within the site's limits, answers it, logs nothing sensitive."""

    server_version = "orchestrator"
    sys_version = ""
    site: Site  # set on the subclass `Listener` makes

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
        self._send(self.site.answer(request))

    def _read_body(self) -> bytes | None:
        """The body, or None after answering 411/413/400 (without reading it)."""
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            if self.headers.get("Transfer-Encoding"):
                self._refuse(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
                return None
            return b""
        try:
            length = int(length_header)
        except ValueError:
            length = -1
        if length < 0:
            self._refuse(HTTPStatus.BAD_REQUEST, "bad Content-Length")
            return None
        limit = self.site.max_body_bytes
        if length > limit:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body larger than {limit} bytes")
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


class _Server(ThreadingHTTPServer):
    # A request still in flight must not keep the process from exiting after SIGTERM.
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class Listener:
    """One socket serving a `Site` from a background thread until `stop`."""

    def __init__(self, site: Site, *, host: str, port: int, name: str) -> None:
        attributes = {"site": site, "timeout": site.request_timeout}
        handler = type("_SiteHandler", (_RequestHandler,), attributes)
        server_class = _Server6 if ":" in host else _Server
        self.host = host
        self._httpd = server_class((host, port), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name=name, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The port actually bound (differs from the one asked for when that was 0)."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting connections; requests in flight finish in their own threads."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout)
