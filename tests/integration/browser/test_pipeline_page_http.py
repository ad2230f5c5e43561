"""The page's two routes without a browser: same JSON as `status`, caching, failures, safety."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable

from orchestrator.errors import RemoteUnreachable
from orchestrator.status.model import DeliveryView, EnvironmentView, PipelineView
from orchestrator.status.page import API_PATH, PAGE_PATH, CachedPipeline, register
from orchestrator.web.transport import Request, Response, Routes

HOSTILE = "</script><script>alert(1)</script> & <b>"


def _view(message: str = "fine") -> PipelineView:
    delivery = DeliveryView(
        environment="staging",
        revision="a" * 40,
        delivery="feature-a",
        subject="Merge",
        current=True,
        committed_at="2025-03-01T11:00:00Z",
        age_seconds=60,
        phase="Failed",
        stage="HealthCheckFailed",
        message=message,
    )
    env = EnvironmentView(
        name="staging", branch="refs/heads/staging", tip="a" * 40, deliveries=(delivery,)
    )
    return PipelineView(
        remote="/repo.git",
        generated_at="2025-03-01T12:00:00Z",
        order="policy",
        environments=(env,),
    )


def _get(routes: Routes, path: str) -> Response:
    return routes.dispatch(Request(method="GET", path=path))


def _routes(read: Callable[[], PipelineView]) -> Routes:
    routes = Routes()
    register(routes, read=read, max_age_seconds=60)
    return routes


def test_api_serves_the_status_json() -> None:
    view = _view()
    response = _get(_routes(lambda: view), API_PATH)
    assert response.status == 200
    assert response.content_type == "application/json"
    assert json.loads(response.body) == view.to_json()


def test_page_is_self_contained_and_allows_only_its_own_script() -> None:
    response = _get(_routes(_view), PAGE_PATH)
    assert response.status == 200
    assert response.content_type.startswith("text/html")
    html = response.body.decode()
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html
    headers = dict(response.headers)
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "connect-src 'self'" in csp
    (script,) = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    (style,) = re.findall(r"<style>(.*?)</style>", html, flags=re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp


def test_embedded_data_cannot_break_out_of_its_script_element() -> None:
    html = _get(_routes(lambda: _view(HOSTILE)), PAGE_PATH).body.decode()
    assert "alert(1)</script>" not in html
    assert "<b>" not in html
    (data,) = re.findall(
        r'<script id="pipeline-data" type="application/json">(.*?)</script>', html, re.DOTALL
    )
    embedded = json.loads(data)
    assert embedded["error"] is None
    assert embedded["view"]["environments"][0]["deliveries"][0]["message"] == HOSTILE


def test_reads_are_cached_for_max_age() -> None:
    now = [100.0]
    calls: list[int] = []

    def read() -> PipelineView:
        calls.append(1)
        return _view()

    cache = CachedPipeline(read, max_age_seconds=2.0, clock=lambda: now[0])
    for _ in range(5):
        cache.get()
    assert len(calls) == 1
    now[0] += 2.5
    cache.get()
    assert len(calls) == 2
    cache.invalidate()
    cache.get()
    assert len(calls) == 3


def test_a_failed_read_is_a_503_and_the_page_keeps_the_last_view() -> None:
    now = [0.0]
    results: list[PipelineView | Exception] = [_view(), RemoteUnreachable("no route to host")]

    def read() -> PipelineView:
        result = results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    cache = CachedPipeline(read, max_age_seconds=1.0, clock=lambda: now[0])
    view, error = cache.get()
    assert view is not None
    assert error is None
    now[0] += 5
    kept, error = cache.get()
    assert kept is view
    assert error == "no route to host"

    def unreachable() -> PipelineView:
        raise RemoteUnreachable("unreachable")

    failing = Routes()
    register(failing, read=unreachable)
    api = _get(failing, API_PATH)
    assert api.status == 503
    assert json.loads(api.body) == {"error": "unreachable"}
    page = _get(failing, PAGE_PATH)
    assert page.status == 200
    assert '"error": "unreachable"' in page.body.decode()
