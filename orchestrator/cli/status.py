"""`orchestrator status`: the whole pipeline from any clone, read from Git alone.

No cluster access: branches, trailers and notes say everything (see
docs/status.md for the columns and the JSON shape).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import click
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.text import Text

from orchestrator.cli.common import open_remote, output_option, repo_option
from orchestrator.cli.serve import serve_page
from orchestrator.errors import OrchestratorError
from orchestrator.gitbus import protocol
from orchestrator.status.model import PipelineView
from orchestrator.status.read import DEFAULT_HISTORY, read_pipeline
from orchestrator.status.render import document, render

_WIDE = 200  # not a terminal: never wrap or cut a row for the reader's grep


def _envs(value: str | None) -> list[str] | None:
    if not value:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    try:
        return [protocol.check_env(n) for n in names]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--env") from None


def _watch(
    read: Callable[[], PipelineView],
    *,
    console: Console,
    interval: float,
    output: str,
    feature: str | None = None,
) -> None:
    """Re-read every `interval`; a failed read is shown and retried, never fatal."""
    view = read()  # the first read fails loudly: a wrong --repo should not spin
    if output == "json":
        while True:
            click.echo(json.dumps(document(view, feature)))
            time.sleep(interval)
            try:
                view = read()
            except OrchestratorError as exc:
                click.secho(f"error: {exc}", fg="red", err=True)
    with Live(render(view, feature), console=console, auto_refresh=False) as live:
        while True:
            time.sleep(interval)
            try:
                view = read()
                live.update(render(view, feature), refresh=True)
            except OrchestratorError as exc:
                failed = Text(f"update failed (retrying): {exc}", style="red")
                live.update(Group(render(view, feature), failed), refresh=True)


def _print(console: Console, renderable: RenderableType, *, plain: bool) -> None:
    """A terminal gets rich output; a pipe gets the same lines without trailing padding."""
    if not plain:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


@click.command("status")
@repo_option
@click.option("--env", "envs", metavar="A,B", help="Only these environments, in this order.")
@click.option(
    "--history",
    type=click.IntRange(1, 100),
    default=DEFAULT_HISTORY,
    show_default=True,
    help="First-parent commits read per environment branch.",
)
@click.option("--watch", is_flag=True, help="Re-read and re-render until Ctrl-C.")
@click.option(
    "--interval",
    type=click.FloatRange(0.5),
    default=5.0,
    show_default=True,
    help="Seconds between reads with --watch (with --serve: the page's data is at most this old).",
)
@click.option(
    "--serve",
    "serve",
    metavar="HOST:PORT",
    help="Serve the pipeline page (/) and its JSON (/api/pipeline) on this address until "
    "Ctrl-C, from Git alone, as every agent does; e.g. --serve 127.0.0.1:8090.",
)
@click.option("--feature", metavar="NAME", help="Where one delivery is, across environments.")
@output_option
def command(
    remote: str,
    envs: str | None,
    history: int,
    watch: bool,
    interval: float,
    serve: str | None,
    feature: str | None,
    output: str,
) -> None:
    """Show every environment's deliveries, their phase, health and promotions.

    Reads only Git (branches, trailers and notes), so it works from any clone
    without cluster access. With -o json the document described in
    docs/status.md is printed; with --watch too, one document per line.
    With --feature, one delivery across every environment: merged where, verified
    on which revision, promoted to which branch, merged downstream, healthy there.
    """
    if feature is not None:
        try:
            protocol.check_feature(feature)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--feature") from None
    environments = _envs(envs)
    repo = open_remote(remote)

    def read() -> PipelineView:
        return read_pipeline(repo, environments=environments, history=history)

    if serve is not None:
        serve_page(read, address=serve, refresh=interval)
        return
    console = Console()
    plain = not console.is_terminal
    if plain:
        console = Console(width=_WIDE)
    if watch:
        try:
            _watch(read, console=console, interval=interval, output=output, feature=feature)
        except KeyboardInterrupt:
            return
        return
    view = read()
    if output == "json":
        click.echo(json.dumps(document(view, feature), indent=2))
    else:
        _print(console, render(view, feature, plain=plain), plain=plain)
