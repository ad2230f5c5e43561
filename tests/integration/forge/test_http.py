"""The real transport against a local HTTP listener: limits, timeouts, no redirects."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from e2e.controlplane.cluster import free_port
from orchestrator.errors import ForgeError, ForgeResponseInvalid, ForgeUnreachable
from orchestrator.forge import Forge, connect

TOKEN = "real-transport-token-42"


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers by path; remembers which paths carried the token."""

    seen_with_token: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        if TOKEN in (self.headers.get("Authorization") or ""):
            self.seen_with_token.append(self.path)
        if self.path.startswith("/api/repos/a/b/pulls"):
            self._answer(200, b"[]")
        elif self.path.startswith("/api/repos/a/b/commits/big/status"):
            self._answer(200, b'{"statuses": [' + b'{"x": 1},' * 200_000 + b"{}]}")
        elif self.path.startswith("/api/repos/a/b/commits/slow/status"):
            time.sleep(2)
            self._answer(200, b'{"statuses": []}')
        elif self.path.startswith("/api/repos/a/b/commits/moved/status"):
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._answer(200, b'{"statuses": []}')

    def _answer(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout, read limit): what those tests want

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.seen_with_token = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/api"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _forge(api_url: str, tmp_path: Path, **limits: float) -> Forge:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    return connect(kind="gitea", api_url=api_url, repository="a/b", token_file=token_file, **limits)


def test_the_token_reaches_the_forge_in_the_header(server: str, tmp_path: Path) -> None:
    forge = _forge(server, tmp_path)
    assert forge.find_pull_request(head="x") is None
    assert Recorder.seen_with_token == ["/api/repos/a/b/pulls?state=open&limit=50&page=1"]


def test_an_answer_over_the_read_limit_is_refused(server: str, tmp_path: Path) -> None:
    forge = _forge(server, tmp_path, max_bytes=64 * 1024)
    with pytest.raises(ForgeResponseInvalid, match="larger than 65536 bytes"):
        forge.statuses("big")


def test_a_slow_forge_times_out_as_unreachable(server: str, tmp_path: Path) -> None:
    forge = _forge(server, tmp_path, timeout=0.5)
    with pytest.raises(ForgeUnreachable) as caught:
        forge.statuses("slow")
    assert TOKEN not in str(caught.value)


def test_a_redirect_is_not_followed_with_the_token(server: str, tmp_path: Path) -> None:
    forge = _forge(server, tmp_path)
    with pytest.raises(ForgeError, match="HTTP 302"):
        forge.statuses("moved")
    assert "/elsewhere" not in Recorder.seen_with_token


def test_nobody_listening_is_unreachable(tmp_path: Path) -> None:
    forge = _forge(f"http://127.0.0.1:{free_port()}/api", tmp_path)
    with pytest.raises(ForgeUnreachable, match="refused") as caught:
        forge.statuses("abc")
    assert TOKEN not in str(caught.value)
