"""`orchestrator agent`: run the daemon for one environment."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.agent.runner import run_agent
from orchestrator.settings import load_settings


@click.command("agent")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML settings file (also ORCHESTRATOR_CONFIG). Environment variables "
    "ORCHESTRATOR_<GROUP>__<FIELD> override it.",
)
def command(config_file: Path | None) -> None:
    """Run the agent of one environment until SIGTERM.

    The deliver role polls the environment's branch, applies each new tip with
    server-side apply, waits for health and verification runs, writes a note on
    the commit and pushes the promotion commit. The build role publishes rendered
    configuration from labelled ConfigMaps as candidate deliveries.

    Invalid settings stop the agent before it starts, one line per problem.
    See docs/configuration.md for every setting.
    """
    settings = load_settings(config_file=config_file)
    sys.exit(run_agent(settings))
