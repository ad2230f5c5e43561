"""The pipeline page in a real headless Chromium, served by the real AgentServer.

The page is read from a prepared bus (tests/support/pipeline_bus.py).
The test drives Chromium through Playwright: it checks the cards the page drew,
makes the production agent record a failure in Git, and waits for the same
document (a marker set in the page survives) to show it. The final screenshot
is kept in artifacts/pipeline-page.png.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from orchestrator.gitbus.repo import CacheRepo
from orchestrator.status.page import register
from orchestrator.status.read import read_pipeline
from orchestrator.web.metrics import Metrics
from orchestrator.web.server import AgentServer
from tests.support.pipeline_bus import PipelineBus, build_bus, fail_production

ARTIFACT = Path(__file__).resolve().parents[3] / "artifacts" / "pipeline-page.png"

CARDS = """Array.from(document.querySelectorAll('.card')).map(c => ({
  id: c.id, env: c.dataset.env, delivery: c.dataset.delivery, phase: c.dataset.phase,
  status: c.dataset.status || null, current: c.dataset.current || null,
  candidate: c.classList.contains('candidate'), text: c.textContent}))"""
COLUMNS = "Array.from(document.querySelectorAll('.column')).map(c => c.dataset.env)"
PROMOTIONS = """Array.from(document.querySelectorAll('a.promotion')).map(a => ({
  from: a.closest('.card').id, href: a.getAttribute('href'), state: a.dataset.state}))"""
ORIGINS = """Array.from(document.querySelectorAll('a.origin')).map(a => ({
  from: a.closest('.card').id, href: a.getAttribute('href')}))"""
ARROWS = """Array.from(document.querySelectorAll('#links path[data-from]')).map(p => ({
  from: p.dataset.from, to: p.dataset.to}))"""


@dataclass
class Served:
    server: AgentServer
    bus: PipelineBus

    @property
    def url(self) -> str:
        return self.server.url + "/"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    bus = build_bus(tmp_path / "bus")
    # The page reads through a cache clone of its own, as the agent's page does.
    reader = CacheRepo.open(tmp_path / "page-cache", remote_url=bus.remote)
    server = AgentServer(
        bind_address="127.0.0.1",
        port=0,
        readiness=lambda: (True, "ok"),
        metrics=Metrics(environment="staging"),
        trigger=lambda _ref: True,
        webhook_secret=None,
    )
    register(server.routes, read=lambda: read_pipeline(reader), max_age_seconds=0.5)
    server.start()
    try:
        yield Served(server=server, bus=bus)
    finally:
        server.stop()


def _wait_until(page: Page, expression: str, *, timeout: float = 20.0) -> None:
    """Poll `expression` from outside the page.

    Playwright's own `wait_for_function` evaluates its predicate inside the page, which
    the page's Content-Security-Policy (scripts by hash only, no eval) rightly forbids.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout}s: {expression}")
        time.sleep(0.1)


def _cards(page: Page) -> dict[str, dict[str, Any]]:
    return {card["id"]: card for card in page.evaluate(CARDS)}


def test_page_shows_the_pipeline_and_follows_git_without_reloading(
    page: Page, served: Served
) -> None:
    bus = served.bus
    page.goto(served.url)
    _wait_until(page, "Number(document.body && document.body.dataset.renders) >= 1")

    assert page.evaluate(COLUMNS) == ["staging", "production"]
    cards = _cards(page)
    staging_b, staging_a = f"staging-{bus.s2}", f"staging-{bus.s1}"
    production_a = f"production-{bus.p1}"
    expected = {
        staging_b: ("staging", "feature-b", "Promoted", "healthy", "true"),
        staging_a: ("staging", "feature-a", "Promoted", "healthy", "false"),
        production_a: ("production", "feature-a", "Healthy", "healthy", "true"),
    }
    for card_id, (env, delivery, phase, status, current) in expected.items():
        card = cards[card_id]
        assert (card["env"], card["delivery"], card["phase"]) == (env, delivery, phase)
        assert (card["status"], card["current"]) == (status, current)
    candidates = {(c["env"], c["delivery"], c["phase"]) for c in cards.values() if c["candidate"]}
    assert candidates == {
        ("staging", "feature-c", "WaitingForMerge"),
        ("production", "feature-b", "WaitingForMerge"),
    }
    assert "Healthy (3/3)" in cards[production_a]["text"]

    # Links both ways, and an arrow drawn for each resolvable promotion.
    promotions = {(p["from"], p["href"], p["state"]) for p in page.evaluate(PROMOTIONS)}
    assert promotions == {
        (staging_a, f"#{production_a}", "delivered"),
        (staging_b, "#pr/production/feature-b", "waiting"),
    }
    origins = {(o["from"], o["href"]) for o in page.evaluate(ORIGINS)}
    assert (production_a, f"#{staging_a}") in origins
    assert ("pr/production/feature-b", f"#{staging_b}") in origins
    arrows = {(a["from"], a["to"]) for a in page.evaluate(ARROWS)}
    assert arrows == {(staging_a, production_a), (staging_b, "pr/production/feature-b")}

    # Git changes; the same document (marker intact) picks it up on its next poll.
    renders = page.evaluate("Number(document.body.dataset.renders)")
    page.evaluate("window.__sameDocument = 'yes'")
    fail_production(bus)
    _wait_until(page, f"document.getElementById({production_a!r}).dataset.phase === 'Failed'")
    assert page.evaluate("window.__sameDocument") == "yes"
    assert page.evaluate("Number(document.body.dataset.renders)") > renders
    failed = _cards(page)[production_a]
    assert failed["status"] == "failed"
    assert "HealthCheckFailed" in failed["text"]
    assert "0/3 replicas available" in failed["text"]
    assert page.evaluate("document.title").startswith("1 failing")

    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACT, full_page=True)
    assert ARTIFACT.stat().st_size > 10_000
