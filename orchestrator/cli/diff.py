"""`orchestrator diff`: what applying a branch would change in one cluster."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.cli.common import cluster_options, open_remote, repo_option
from orchestrator.cli.validate import parse_params
from orchestrator.errors import BranchNotFound
from orchestrator.gitbus import protocol
from orchestrator.kube.client import KubeClient
from orchestrator.kube.diff import diff_delivery, render_json, render_text
from orchestrator.kube.inventory import InventoryStore
from orchestrator.promote.revision.source import environment_policy_at, manifests_at


@click.command("diff")
@repo_option
@click.option("--env", "environment", required=True, help="Environment (branch) to compare.")
@click.option("--revision", help="Commit to compare (default: the branch tip).")
@cluster_options
@click.option(
    "--agent-namespace",
    default="orchestrator-system",
    show_default=True,
    help="Where the agent keeps its inventory (to show what pruning would delete).",
)
@click.option(
    "--param", "param_values", multiple=True, help="KEY=VALUE, as the agent's settings give it."
)
@click.option("--all", "show_all", is_flag=True, help="Also list unchanged objects.")
@click.option(
    "--exit-code", is_flag=True, help="Exit 1 when there are differences (like git diff)."
)
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text")
def command(
    remote: str,
    environment: str,
    revision: str | None,
    kubeconfig: Path | None,
    context: str | None,
    agent_namespace: str,
    param_values: tuple[str, ...],
    show_all: bool,
    exit_code: bool,
    output: str,
) -> None:
    """Show live vs. desired for every object of ENV's delivery, as a unified diff.

    Desired is the API server's own server-side dry-run of the manifests (so
    defaults and admission are included); nothing is written. Secret values are
    masked. Objects the inventory holds that left the delivery show as deletions.
    """
    repo = open_remote(remote)
    ref = protocol.env_branch(environment)
    tip = repo.refresh(ref)  # also fetches, so --revision works on a fresh cache
    rev = repo.resolve(revision) if revision else tip
    if rev is None:
        raise BranchNotFound(f"{ref} does not exist", remote=repo.remote)
    policy = environment_policy_at(repo, rev, environment=environment)
    manifests = manifests_at(
        repo, rev, environment=environment, policy=policy, params=parse_params(param_values)
    )
    client = KubeClient.connect(kubeconfig=kubeconfig, context=context)
    try:
        inventory = InventoryStore.for_environment(
            client, namespace=agent_namespace, environment=environment
        ).read()
        click.echo(f"comparing {environment}@{rev[:12]} ({len(manifests)} objects) ...", err=True)
        diffs = diff_delivery(
            client,
            manifests,
            field_manager=f"orchestrator-{environment}",
            force=policy.apply.force,
            inventory=inventory,
        )
    finally:
        client.close()
    if output == "json":
        click.echo(render_json(diffs))
    else:
        click.echo(render_text(diffs, show_unchanged=show_all), nl=False)
    if exit_code and any(d.action != "unchanged" for d in diffs):
        sys.exit(1)
