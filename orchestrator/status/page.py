"""The read-only pipeline page: every environment as a column, every delivery as a card.

Served by the agent's own HTTP server (`register` adds `/` and `/api/pipeline` to
its route table). It shows exactly what `orchestrator status -o json` shows, from
the same read model, so people without cluster access or a terminal see the
pipeline too. The page is one self-contained document (inline CSS and JS, no
external assets: agents often run where no CDN is reachable); it embeds the
current view, then polls `/api/pipeline` and re-renders in place.

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
from typing import Any

from orchestrator.errors import OrchestratorError
from orchestrator.promote.pipeline import PipelineView
from orchestrator.web.transport import Request, Response, Routes

log = logging.getLogger(__name__)

__all__ = ["API_PATH", "PAGE_PATH", "CachedPipeline", "register", "render_page"]

PAGE_PATH = "/"
API_PATH = "/api/pipeline"
POLL_MILLISECONDS = 3000

_CSS = """
:root { --ok: #1a7f37; --wait: #bf8700; --bad: #cf222e; --none: #6e7781;
  --bg: #f6f8fa; --card: #ffffff; --line: #d0d7de; --text: #1f2328; --muted: #59636e; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; gap: 16px; align-items: baseline; padding: 12px 20px;
  background: #24292f; color: #fff; }
header h1 { font-size: 18px; margin: 0; }
header .remote { color: #d0d7de; font-family: ui-monospace, monospace; font-size: 12px; }
header .updated { margin-left: auto; font-size: 12px; color: #d0d7de; }
#banner { display: none; padding: 8px 20px; background: #ffebe9; color: var(--bad);
  border-bottom: 1px solid #ff8182; }
#banner.shown { display: block; }
#warnings { padding: 0 20px; color: var(--wait); font-size: 12px; }
#board { position: relative; display: flex; gap: 88px; padding: 20px; align-items: flex-start;
  overflow-x: auto; }
#links { position: absolute; left: 0; top: 0; pointer-events: none; overflow: visible; }
.column { flex: 0 0 300px; position: relative; z-index: 1; }
.column h2 { font-size: 16px; margin: 0 0 2px; }
.column .meta { color: var(--muted); font-size: 12px; margin-bottom: 12px; }
.section { color: var(--muted); font-size: 11px; text-transform: uppercase;
  letter-spacing: .05em; margin: 14px 0 6px; }
.card { background: var(--card); border: 1px solid var(--line); border-left: 6px solid var(--none);
  border-radius: 6px; padding: 8px 10px; margin-bottom: 10px;
  box-shadow: 0 1px 2px rgba(31,35,40,.06); }
.card.old { opacity: .72; }
.card.current { box-shadow: 0 2px 8px rgba(31,35,40,.15); }
.card:target { outline: 3px solid #0969da; }
.card.s-healthy { border-left-color: var(--ok); }
.card.s-progressing { border-left-color: var(--wait); }
.card.s-failed { border-left-color: var(--bad); background: #fff8f7; }
.card.s-unknown { border-left-color: var(--none); }
.card.candidate { border-style: dashed; border-left-style: solid; border-left-color: #8c959f; }
.row { display: flex; justify-content: space-between; gap: 8px; align-items: baseline; }
.name { font-weight: 600; overflow-wrap: anywhere; }
.badge { font-size: 11px; font-weight: 600; padding: 1px 8px; border-radius: 10px; color: #fff;
  background: var(--none); white-space: nowrap; }
.s-healthy .badge { background: var(--ok); }
.s-progressing .badge { background: var(--wait); }
.s-failed .badge { background: var(--bad); }
.candidate .badge { background: #8c959f; }
.sha { font-family: ui-monospace, monospace; font-size: 12px; color: var(--muted);
  overflow-wrap: anywhere; }
.small { font-size: 12px; color: var(--muted); }
.age { white-space: nowrap; }
.health { font-size: 12px; }
.error { font-size: 12px; color: var(--bad); overflow-wrap: anywhere; }
.links a { display: block; font-size: 12px; color: #0969da; text-decoration: none; }
.links a:hover { text-decoration: underline; }
.empty { color: var(--muted); font-style: italic; font-size: 12px; }
"""

_JS = """
(function () {
  "use strict";
  var POLL = __POLL__;
  var state = { view: null, fetchedAt: Date.now(), renders: 0, failures: 0 };
  window.__pipeline = state;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function ageText(seconds) {
    var units = [["d", 86400], ["h", 3600], ["m", 60]];
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][1]) { return Math.floor(seconds / units[i][1]) + units[i][0]; }
    }
    return Math.max(0, Math.floor(seconds)) + "s";
  }
  function age(base) {
    var node = el("span", "age", "");
    node.dataset.base = String(base);
    node.textContent = ageText(base) + " ago";
    return node;
  }
  function cardId(env, revision) { return env + "-" + revision; }
  function candidateId(ref) { return branch(ref); }
  function branch(ref) { return ref.replace(/^refs\\/heads\\//, ""); }
  function link(href, text, target) {
    var a = el("a", null, text);
    a.href = "#" + href;
    if (target) { a.dataset.linkTarget = target; }
    return a;
  }

  function deliveryCard(d) {
    var card = el("div", "card s-" + d.status + (d.current ? " current" : " old"));
    card.id = cardId(d.environment, d.revision);
    card.dataset.env = d.environment;
    card.dataset.delivery = d.delivery;
    card.dataset.phase = d.phase || "Pending";
    card.dataset.status = d.status;
    card.dataset.revision = d.revision;
    card.dataset.current = d.current ? "true" : "false";
    var top = el("div", "row");
    top.appendChild(el("span", "name", d.delivery));
    top.appendChild(el("span", "badge", d.phase || "Pending"));
    card.appendChild(top);
    var sub = el("div", "row");
    sub.appendChild(el("span", "sha", d.short + (d.current ? " \\u00b7 current" : "")));
    var when = el("span", "small");
    when.appendChild(age(d.age_seconds));
    sub.appendChild(when);
    card.appendChild(sub);
    if (d.health) { card.appendChild(el("div", "health", d.health)); }
    if (d.verified_on) {
      card.appendChild(el("div", "small", "verified on " + d.verified_on.slice(0, 7)));
    }
    if (d.stage || (d.message && d.status === "failed")) {
      card.appendChild(el("div", "error", [d.stage, d.message].filter(Boolean).join(": ")));
    } else if (d.gate || d.message) {
      card.appendChild(el("div", "small", d.gate || d.message));
    }
    var links = el("div", "links");
    d.promotions.forEach(function (p) {
      var target = p.landed ? cardId(p.target, p.landed)
        : (p.state === "waiting" ? candidateId(p.ref) : null);
      var text = "promoted to " + p.target + " \\u2192 " + branch(p.ref) +
        (p.commit ? "@" + p.commit.slice(0, 7) : "") + " (" + p.state + ")";
      var a = link(target || "", text, target);
      a.className = "promotion";
      a.dataset.state = p.state;
      links.appendChild(a);
    });
    if (d.promoted_from) {
      var from = d.promoted_from;
      var back = link(cardId(from.environment, from.revision),
        "\\u2190 promoted from " + from.environment + "@" + from.revision.slice(0, 7));
      back.className = "origin";
      links.appendChild(back);
    }
    if (links.childNodes.length) { card.appendChild(links); }
    return card;
  }

  function candidateCard(c) {
    var card = el("div", "card candidate");
    card.id = candidateId(c.ref);
    card.dataset.env = c.environment;
    card.dataset.delivery = c.delivery;
    card.dataset.phase = "WaitingForMerge";
    card.dataset.revision = c.revision;
    var top = el("div", "row");
    top.appendChild(el("span", "name", c.delivery));
    top.appendChild(el("span", "badge", "waiting for merge"));
    card.appendChild(top);
    var sub = el("div", "row");
    sub.appendChild(el("span", "sha", branch(c.ref) + "@" + c.short));
    var when = el("span", "small");
    when.appendChild(age(c.age_seconds));
    sub.appendChild(when);
    card.appendChild(sub);
    if (c.promoted_from) {
      var from = c.promoted_from;
      var links = el("div", "links");
      var back = link(cardId(from.environment, from.revision),
        "\\u2190 promoted from " + from.environment + "@" + from.revision.slice(0, 7));
      back.className = "origin";
      links.appendChild(back);
      card.appendChild(links);
    }
    return card;
  }

  function column(env) {
    var col = el("section", "column");
    col.dataset.env = env.name;
    col.appendChild(el("h2", null, env.name));
    var meta = env.tip ? branch(env.branch) + "@" + env.tip.slice(0, 7) : "no branch";
    if (env.promotes_to.length) { meta += " \\u2192 " + env.promotes_to.join(", "); }
    col.appendChild(el("div", "meta", meta));
    if (env.candidates.length) {
      col.appendChild(el("div", "section", "waiting for a merge"));
      env.candidates.forEach(function (c) { col.appendChild(candidateCard(c)); });
    }
    col.appendChild(el("div", "section", "deliveries"));
    if (!env.deliveries.length) { col.appendChild(el("div", "empty", "nothing delivered yet")); }
    env.deliveries.forEach(function (d) { col.appendChild(deliveryCard(d)); });
    return col;
  }

  var SVG = "http://www.w3.org/2000/svg";
  function drawLinks() {
    var board = document.getElementById("board");
    var svg = document.getElementById("links");
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    svg.setAttribute("width", String(board.scrollWidth));
    svg.setAttribute("height", String(board.scrollHeight));
    var defs = document.createElementNS(SVG, "defs");
    ["delivered", "waiting", "unknown"].forEach(function (s) {
      var marker = document.createElementNS(SVG, "marker");
      marker.setAttribute("id", "arrow-" + s);
      marker.setAttribute("viewBox", "0 0 10 10");
      marker.setAttribute("refX", "9"); marker.setAttribute("refY", "5");
      marker.setAttribute("markerWidth", "7"); marker.setAttribute("markerHeight", "7");
      marker.setAttribute("orient", "auto-start-reverse");
      var tip = document.createElementNS(SVG, "path");
      tip.setAttribute("d", "M0,0 L10,5 L0,10 z");
      tip.setAttribute("class", "arrow-" + s);
      tip.setAttribute("fill", colour(s));
      marker.appendChild(tip);
      defs.appendChild(marker);
    });
    svg.appendChild(defs);
    var origin = board.getBoundingClientRect();
    var anchors = board.querySelectorAll("a.promotion[data-link-target]");
    Array.prototype.forEach.call(anchors, function (a) {
      var from = a.closest(".card");
      var to = document.getElementById(a.dataset.linkTarget);
      if (!from || !to) { return; }
      var r1 = from.getBoundingClientRect(), r2 = to.getBoundingClientRect();
      var x1 = r1.right - origin.left + board.scrollLeft, y1 = r1.top + r1.height / 2 - origin.top;
      var x2 = r2.left - origin.left + board.scrollLeft, y2 = r2.top + r2.height / 2 - origin.top;
      var bend = Math.max(24, (x2 - x1) / 2);
      var path = document.createElementNS(SVG, "path");
      path.setAttribute("d", "M" + x1 + "," + y1 + " C" + (x1 + bend) + "," + y1 + " " +
        (x2 - bend) + "," + y2 + " " + x2 + "," + y2);
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", colour(a.dataset.state));
      path.setAttribute("stroke-width", "2");
      if (a.dataset.state !== "delivered") { path.setAttribute("stroke-dasharray", "6 4"); }
      path.setAttribute("marker-end", "url(#arrow-" + a.dataset.state + ")");
      path.dataset.from = from.id;
      path.dataset.to = to.id;
      svg.appendChild(path);
    });
  }
  function colour(s) {
    return s === "delivered" ? "#1a7f37" : (s === "waiting" ? "#bf8700" : "#8c959f");
  }

  function render(view) {
    state.view = view;
    state.fetchedAt = Date.now();
    document.getElementById("remote").textContent = view.remote;
    var board = document.getElementById("board");
    var svg = document.getElementById("links");
    var columns = document.createDocumentFragment();
    view.environments.forEach(function (env) { columns.appendChild(column(env)); });
    while (board.lastChild && board.lastChild !== svg) { board.removeChild(board.lastChild); }
    board.appendChild(columns);
    var warnings = document.getElementById("warnings");
    warnings.textContent = "";
    view.warnings.forEach(function (w) { warnings.appendChild(el("div", null, "warning: " + w)); });
    var failing = document.querySelectorAll(".card.current.s-failed").length;
    document.title = (failing ? failing + " failing \\u00b7 " : "") + "pipeline";
    drawLinks();
    state.renders += 1;
    document.body.dataset.renders = String(state.renders);
    document.body.dataset.generatedAt = view.generated_at;
    tick();
  }

  function tick() {
    var elapsed = (Date.now() - state.fetchedAt) / 1000;
    var nodes = document.querySelectorAll(".age");
    Array.prototype.forEach.call(nodes, function (n) {
      n.textContent = ageText(Number(n.dataset.base) + elapsed) + " ago";
    });
    var updated = document.getElementById("updated");
    if (state.view) {
      updated.textContent = "read " + state.view.generated_at + " \\u00b7 refreshed " +
        ageText(elapsed) + " ago";
    }
  }

  function banner(text) {
    var node = document.getElementById("banner");
    node.textContent = text || "";
    node.className = text ? "shown" : "";
  }

  function poll() {
    fetch("__API__", { cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.error || ("HTTP " + response.status)); }
          return body;
        });
      })
      .then(function (view) { banner(""); state.failures = 0; render(view); })
      .catch(function (err) {
        state.failures += 1;
        banner("Update failed, showing the last good read: " + err.message);
      })
      .then(function () { window.setTimeout(poll, POLL); });
  }

  var initial = JSON.parse(document.getElementById("pipeline-data").textContent);
  if (initial && initial.view) { render(initial.view); }
  if (initial && initial.error) { banner("Git read failed: " + initial.error); }
  window.setInterval(tick, 1000);
  window.addEventListener("resize", drawLinks);
  window.setTimeout(poll, POLL);
})();
"""

_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pipeline</title>
<style>{css}</style>
</head>
<body data-renders="0">
<header><h1>orchestrator pipeline</h1><span class="remote" id="remote"></span>
<span class="updated" id="updated"></span></header>
<div id="banner" role="alert"></div>
<div id="warnings"></div>
<main id="board"><svg id="links" xmlns="http://www.w3.org/2000/svg"></svg></main>
<script id="pipeline-data" type="application/json">{data}</script>
<script>{js}</script>
</body>
</html>
"""

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
