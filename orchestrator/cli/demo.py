"""`orchestrator demo`: the end-to-end demo, run from a source checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from orchestrator.errors import OrchestratorError


def _checkout() -> Path:
    root = Path(__file__).resolve().parents[2]
    if not (root / "e2e" / "demo.py").is_file():
        raise OrchestratorError(
            "the demo runs from a source checkout (it starts local clusters with the "
            "e2e/controlplane harness): clone the repository and run `make demo`"
        )
    return root


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the bare repository at DIR/repo.git (and the agents' logs) afterwards.",
)
@click.option("--keep-running", is_flag=True, help="Keep clusters and agents up until Ctrl-C.")
@click.option(
    "--forge",
    type=click.Choice(["gitea"]),
    help="Host the repository on a local Gitea: each promotion a pull request with its "
    "gates as commit statuses and the production agent's preview, merged through the API.",
)
def command(workdir: Path | None, keep_running: bool, forge: str | None) -> None:
    """Run the whole PR flow on this machine: three clusters, a repository, three agents.

    Starts local clusters build, staging and production (real kube-apiservers,
    built from source on first use), a bare repository and one agent per cluster;
    publishes feature-a and feature-b from the build cluster, approves both into
    staging a second apart, waits for the staging agent to verify them and promote
    each on its own, approves both into production and waits for production to be
    Healthy. Then prints the pipeline and cleans up.
    """
    args = [sys.executable, "-m", "e2e.demo"]
    if workdir is not None:
        args += ["--workdir", str(workdir.resolve())]
    if keep_running:
        args.append("--keep-running")
    if forge:
        args += ["--forge", forge]
    sys.exit(subprocess.call(args, cwd=_checkout()))
