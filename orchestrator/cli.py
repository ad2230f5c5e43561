"""The `orchestrator` command."""

from __future__ import annotations

import click

from orchestrator import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="orchestrator")
def main() -> None:
    """Deliver Kubernetes configuration across clusters, with Git as the message bus.

    One agent runs per cluster. It polls its environment's branch, applies what
    arrives with server-side apply, checks health, records the outcome as a git
    note and pushes a promotion commit towards the next environment.
    """
