"""The read-only pipeline page: every environment as a column, every delivery as a card.

Served by the agent's own HTTP server (`register` adds `/` and `/api/pipeline` to
its route table). It shows exactly what `orchestrator status -o json` shows, from
the same read model, so people without cluster access or a terminal see the
pipeline too. The page is one self-contained document (its CSS and JS, kept as
package data in `assets/`, are inlined: agents often run where no CDN is
reachable); it embeds the current view, then polls `/api/pipeline` and
re-renders in place.

Reads are cached for `max_age_seconds` and serialized: any number of open pages
costs at most one Git read per period. The read callable must use a cache clone
of its own, not the agent's: polling the agent's clone would consume the ref
changes its reconcile loop waits for.

A Content-Security-Policy allows only this page's own script and style (by
hash) and fetches to the same origin; the script builds the DOM with
`textContent` only, so commit subjects and messages can never become markup.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from importlib import resources
from typing import Any

from orchestrator.errors import OrchestratorError
from orchestrator.status.model import PipelineView
from orchestrator.web.transport import Request, Response, Routes

log = logging.getLogger(__name__)

__all__ = ["API_PATH", "PAGE_PATH", "CachedPipeline", "register", "render_page"]

PAGE_PATH = "/"
API_PATH = "/api/pipeline"
POLL_MILLISECONDS = 3000


def _asset(name: str) -> str:
    return (
        resources.files("orchestrator.status").joinpath("assets", name).read_text(encoding="utf-8")
    )


# The page's parts are package data (assets/), so they are edited as CSS, JS and HTML.
_CSS = _asset("page.css")
_JS = _asset("page.js")
_HTML = _asset("page.html")

_SCRIPT = _JS.replace("__POLL__", str(POLL_MILLISECONDS)).replace("__API__", API_PATH)


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


# Only this page's own script and style run; fetches go to this server only.
_CSP = "; ".join(
    (
        "default-src 'none'",
        f"script-src {_hash(_SCRIPT)}",
        f"style-src {_hash(_CSS)}",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
_PAGE_HEADERS = (
    ("Content-Security-Policy", _CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)


def _embed(data: Any) -> str:
    """JSON that is safe inside a <script> element: no `<`, `>` or `&` survive as such."""
    text = json.dumps(data, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(view: PipelineView | None, *, error: str | None = None) -> str:
    """The whole page with `view` embedded, so it shows data before the first poll."""
    data = {"view": view.to_json() if view is not None else None, "error": error}
    return _HTML.format(css=_CSS, js=_SCRIPT, data=_embed(data))


class CachedPipeline:
    """One Git read per `max_age_seconds` however many pages poll; reads never overlap.

    A failed read is remembered as long as a good one would be (a broken remote is
    not hammered either); the last good view stays available for the page.
    """

    def __init__(
        self,
        read: Callable[[], PipelineView],
        *,
        max_age_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._max_age = max_age_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._at: float | None = None
        self._view: PipelineView | None = None
        self._error: str | None = None

    def get(self) -> tuple[PipelineView | None, str | None]:
        """(the freshest view, the error of the latest read or None)."""
        with self._lock:
            now = self._clock()
            if self._at is None or now - self._at >= self._max_age:
                try:
                    self._view, self._error = self._read(), None
                except OrchestratorError as exc:
                    log.warning("pipeline page: reading Git failed: %s", exc)
                    self._error = str(exc).partition("\n")[0]
                self._at = self._clock()
            return self._view, self._error

    def invalidate(self) -> None:
        """Make the next request read Git again (e.g. right after the agent pushed)."""
        with self._lock:
            self._at = None


def register(
    server_routes: Routes,
    *,
    read: Callable[[], PipelineView],
    max_age_seconds: float = 2.0,
) -> CachedPipeline:
    """Serve the page at `/` and its data at `/api/pipeline` from `read`, cached."""
    cache = CachedPipeline(read, max_age_seconds=max_age_seconds)

    def page(_: Request) -> Response:
        view, error = cache.get()
        body = render_page(view, error=error).encode()
        return Response(HTTPStatus.OK, body, "text/html; charset=utf-8", _PAGE_HEADERS)

    def api(_: Request) -> Response:
        view, error = cache.get()
        if error is not None:
            return Response.json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": error})
        assert view is not None
        return Response.json(HTTPStatus.OK, view.to_json())

    server_routes.add(PAGE_PATH, page)
    server_routes.add(API_PATH, api)
    return cache
