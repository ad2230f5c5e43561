"""The pipeline page without an agent (`orchestrator status --serve`): Git in, HTML out."""

from __future__ import annotations

import time
from collections.abc import Callable

import click

from orchestrator.status.model import PipelineView
from orchestrator.status.page import register
from orchestrator.web.metrics import Metrics
from orchestrator.web.server import AgentServer


def parse_address(value: str) -> tuple[str, int]:
    """`HOST:PORT`, `:PORT` or `PORT` (host 127.0.0.1); port 0 picks a free one."""
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "", value
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or int(port) > 65535:
        raise click.BadParameter(f"{value!r} is not HOST:PORT", param_hint="--serve")
    return host, int(port)


def serve_page(read: Callable[[], PipelineView], *, address: str, refresh: float) -> None:
    """Serve `/` and `/api/pipeline` from `read` until Ctrl-C; the agent's page, no agent."""
    host, port = parse_address(address)
    server = AgentServer(
        bind_address=host,
        port=port,
        readiness=lambda: (True, "ok"),
        metrics=Metrics(environment="status"),
        trigger=lambda _ref: False,
        webhook_secret=None,  # nothing here acts on anything: /hooks/git answers 404
    )
    register(server.routes, read=read, max_age_seconds=refresh)
    read()  # a wrong --repo fails now, with one line, not in the first request
    server.start()
    click.echo(f"serving the pipeline page on {server.url}/ (Ctrl-C stops)", err=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
