"""Debian's headless Chromium, driven by Playwright for Python.

Playwright launches the system Chromium (`executable_path`), never a browser of its own
download, and stops it (and its driver) when the test ends. The flags keep Chromium off
the network it cannot reach here: without them it keeps trying Google's hosts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.prerequisites import require_command

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]


@pytest.fixture
def chromium_binary() -> str:
    """Checked first: without Chromium nothing else is built (skip locally, fail in CI)."""
    return require_command("chromium")


@pytest.fixture
def page(chromium_binary: str) -> Iterator[Page]:
    """A fresh browser (its own profile) with one 1280x860 tab."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_binary, args=FLAGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 860})
            tab.set_default_timeout(20_000)
            yield tab
        finally:
            browser.close()
