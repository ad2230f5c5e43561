"""The `orchestrator` command as installed: the CLI group with the agent's subcommand.

The CLI never imports the agent; this module sits above both and puts
`orchestrator agent` next to the commands people run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.agent.runner import run_agent
from orchestrator.allocator import limit_arenas
from orchestrator.cli import main
from orchestrator.cli.common import cluster_options
from orchestrator.settings import load_settings


@click.command("agent")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML settings file (also ORCHESTRATOR_CONFIG). Environment variables "
    "ORCHESTRATOR_<GROUP>__<FIELD> override it.",
)
@cluster_options
def command(config_file: Path | None, kubeconfig: Path | None, context: str | None) -> None:
    """Run the agent of one environment until SIGTERM.

    The deliver role polls the environment's branch, applies each new tip with
    server-side apply, waits for health and verification runs, writes a note on
    the commit and pushes the promotion commit. The build role publishes rendered
    configuration from labelled ConfigMaps as candidate deliveries.

    The cluster is --kubeconfig/--context (which override cluster.kubeconfig and
    cluster.context), else $KUBECONFIG, else the pod's ServiceAccount, else
    ~/.kube/config. Invalid settings, or no cluster configuration at all, stop the
    agent before it starts, one line per problem. See docs/configuration.md for
    every setting.
    """
    limit_arenas()
    cluster: dict[str, object] = {}
    if kubeconfig is not None:
        cluster["kubeconfig"] = kubeconfig
    if context is not None:
        cluster["context"] = context
    settings = load_settings(
        config_file=config_file, overrides={"cluster": cluster} if cluster else None
    )
    sys.exit(run_agent(settings))


main.add_command(command)

__all__ = ["main"]
