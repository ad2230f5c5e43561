"""`orchestrator status --serve`: the pipeline page from Git alone, no agent, in Chromium."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.support.pipeline_bus import build_bus
from tests.support.signals import default_sigint

ORCHESTRATOR = Path(sys.executable).with_name("orchestrator")


def _served_url(process: subprocess.Popen[str], *, timeout: float = 30) -> str:
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen.append(line)
        found = re.search(r"serving the pipeline page on (http://127\.0\.0\.1:\d+)/", line)
        if found:
            return found.group(1)
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"no URL announced: {''.join(seen)}")


def test_the_cli_serves_the_agents_page_from_git_alone(page: Page, tmp_path: Path) -> None:
    bus = build_bus(tmp_path / "bus")
    process = subprocess.Popen(
        [str(ORCHESTRATOR), "status", "--repo", bus.remote, "--serve", "127.0.0.1:0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={"XDG_CACHE_HOME": str(tmp_path / "xdg"), "PATH": "/usr/bin:/bin"},
        preexec_fn=default_sigint,  # noqa: PLW1509 - a plain signal reset, no threads yet
    )
    try:
        url = _served_url(process)
        with urllib.request.urlopen(f"{url}/api/pipeline", timeout=10) as response:
            view = json.load(response)
        assert [env["name"] for env in view["environments"]] == ["staging", "production"]

        page.goto(url + "/")
        deadline = time.monotonic() + 20
        while not page.evaluate("document.querySelectorAll('.card').length"):
            assert time.monotonic() < deadline, "the page drew no cards"
            time.sleep(0.1)
        columns = page.evaluate(
            "Array.from(document.querySelectorAll('.column')).map(c => c.dataset.env)"
        )
        assert columns == ["staging", "production"]
        deliveries = page.evaluate(
            "Array.from(document.querySelectorAll('.card')).map(c => c.dataset.delivery)"
        )
        assert {"feature-a", "feature-b"} <= set(deliveries)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}/hooks/git", data=b"{}", timeout=10)
        assert refused.value.code == 404  # a page-only server takes no webhooks
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=20)
    assert code == 0
