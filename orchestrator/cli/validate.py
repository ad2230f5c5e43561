"""`orchestrator validate`: the agent's own checks on a checkout, offline, for CI."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from orchestrator.cli.main import EXIT_INVALID
from orchestrator.cli.validation import AgentView, validate_checkout
from orchestrator.settings import CONFIG_FILE_ENV, load_settings


def parse_params(values: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--param")
        params[key] = value
    return params


def _agent(config_file: Path | None) -> tuple[AgentView, tuple[str, ...]]:
    """The agent's view from its settings file, and its environment; defaults without one."""
    if config_file is None:
        return AgentView(), ()
    settings = load_settings(config_file=config_file, check_files=False)
    agent = AgentView.of(settings)
    if agent.trust is None:
        click.secho(
            "warning: cannot read the agent's trusted keys (trust.allowed_signers_file, "
            "trust.gpg_public_keys_file) here; a policy's trust.signers is not checked",
            fg="yellow",
            err=True,
        )
    return agent, (settings.agent.environment,)


@click.command("validate")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--env", "environments", multiple=True, help="Only these environments (repeatable).")
@click.option(
    "--param", "param_values", multiple=True, help="KEY=VALUE as an agent setting would give it."
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=CONFIG_FILE_ENV,
    help="An agent's YAML settings file (also ORCHESTRATOR_CONFIG): check its environment "
    "against its ceiling, read limits, trusted signers and parameters.",
)
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text")
def command(
    path: Path,
    environments: tuple[str, ...],
    param_values: tuple[str, ...],
    config_file: Path | None,
    output: str,
) -> None:
    """Run the agent's checks on the checkout at PATH, without a cluster.

    Reads .orchestrator/policy.yaml and each environment's `path` as the agent
    reads a commit (nothing else; a symlink or a file over the read limits is a
    problem), loads the manifests with the agent's loader and parameters, and
    checks them and the verification runs against `allow`: the policy's own,
    or within an agent's ceiling with --config. Each problem is listed once,
    with the environments it concerns; exit code 3 when there is any.
    """
    agent, agent_envs = _agent(config_file)
    findings = validate_checkout(
        path,
        environments=environments or agent_envs,
        params=parse_params(param_values),
        agent=agent,
    )
    problems = findings.lines()
    if output == "json":
        report = {"valid": not problems, "objects": findings.objects, "problems": problems}
        click.echo(json.dumps(report, indent=2))
    else:
        for env, count in findings.objects.items():
            click.echo(f"{env}: {count} object(s)")
        for problem in problems:
            click.secho(f"problem: {problem}", fg="red", err=True)
        click.echo("valid" if not problems else f"{len(problems)} problem(s)")
    if problems:
        sys.exit(EXIT_INVALID)
