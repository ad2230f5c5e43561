"""`orchestrator check`: preflight for an agent, with the agent's own settings."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from orchestrator.cli.common import cluster_options, output_option
from orchestrator.cli.main import EXIT_FAILED
from orchestrator.preflight import Check, run_checks
from orchestrator.settings import load_settings

_COLOUR = {"ok": "green", "warn": "yellow", "fail": "red", "skip": None}


@click.command("check")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The agent's YAML settings file (also ORCHESTRATOR_CONFIG); "
    "ORCHESTRATOR_<GROUP>__<FIELD> variables override it, as for `agent`.",
)
@cluster_options
@output_option
def command(
    config_file: Path | None, kubeconfig: Path | None, context: str | None, output: str
) -> None:
    """Check what an agent needs before running it: cluster, RBAC, repository, policy.

    Reads the same settings as `orchestrator agent` and runs, with the agent's own
    code: cluster reachable (and which configuration was used); its namespace
    exists; its identity may do what the agent does there (SelfSubjectAccessReview:
    inventory Secrets, the Lease, Events; ConfigMaps for the build role); the
    repository and the environment's branch are reachable; the policy at the tip
    is valid for the environment; the manifests load; and the identity may get,
    create and patch every kind in every namespace the tip delivers.
    Run it as the agent's identity (its kubeconfig, or in its pod). Exit 0 when
    nothing failed (warnings allowed), 1 otherwise.
    """
    cluster: dict[str, object] = {}
    if kubeconfig is not None:
        cluster["kubeconfig"] = kubeconfig
    if context is not None:
        cluster["context"] = context
    settings = load_settings(
        config_file=config_file, overrides={"cluster": cluster} if cluster else None
    )
    checks: list[Check] = []
    for check in run_checks(settings):
        checks.append(check)
        if output == "text":
            label = click.style(f"{check.result:<4}", fg=_COLOUR[check.result])
            click.echo(f"{label}  {check.name:<11} {check.detail}")
    failed = [c for c in checks if c.result == "fail"]
    if output == "json":
        document = {"ok": not failed, "checks": [c.to_json() for c in checks]}
        click.echo(json.dumps(document, indent=2))
    if failed:
        sys.exit(EXIT_FAILED)
