"""`orchestrator approve`: merge a candidate delivery, for setups without a PR host."""

from __future__ import annotations

import json

import click

from orchestrator.cli.common import (
    author_identity,
    author_option,
    cli_signer,
    open_remote,
    output_option,
    repo_option,
)
from orchestrator.promote.write.approve import approve


@click.command("approve")
@repo_option
@click.option("--env", "environment", required=True, help="Environment to merge into.")
@click.option("--feature", required=True, help="Delivery to merge (branch pr/<env>/<feature>).")
@author_option
@output_option
def command(remote: str, environment: str, feature: str, author: str, output: str) -> None:
    """Merge pr/<ENV>/<FEATURE> into <ENV> with a merge commit, as a PR host would.

    The push is compare-and-swap: if the environment branch moved meanwhile, the
    merge is rebuilt on the new tip. A conflict stops with the conflicting paths.
    Approving an already merged delivery changes nothing.
    """
    repo = open_remote(remote)
    result = approve(
        repo,
        environment=environment,
        feature=feature,
        author=author_identity(author),
        signer=cli_signer(remote),
    )
    if output == "json":
        click.echo(
            json.dumps({"ref": result.target_ref, "commit": result.commit, "merged": result.pushed})
        )
    elif result.pushed:
        click.echo(f"merged {feature} into {environment}: {result.commit}")
    else:
        click.echo(f"{feature} is already merged into {environment}")
