"""`orchestrator promote`: promote a verified revision by hand."""

from __future__ import annotations

import json
from typing import Literal, cast

import click

from orchestrator.cli.common import (
    author_identity,
    author_option,
    cli_signer,
    open_remote,
    output_option,
    repo_option,
)
from orchestrator.promote.write.manual import promote_verified


@click.command("promote")
@repo_option
@click.option("--from", "source", required=True, help="Environment that verified the revision.")
@click.option("--to", "target", required=True, help="Environment to promote to.")
@click.option("--revision", help="Commit on the source branch (default: its tip).")
@click.option(
    "--mode",
    type=click.Choice(["pr", "auto"]),
    help="pr: push pr/<to>/<feature>; auto: push <to> (default: the policy's mode).",
)
@click.option(
    "--ignore-gates", is_flag=True, help="Promote even inside a freeze or outside a window."
)
@author_option
@output_option
def command(
    remote: str,
    source: str,
    target: str,
    revision: str | None,
    mode: str | None,
    ignore_gates: bool,
    author: str,
    output: str,
) -> None:
    """Promote a revision of FROM that its agent verified, to TO.

    The revision's note in FROM must say Healthy, Waiting or Promoted: this moves
    a verified delivery on (past a closed window with --ignore-gates, or to a
    target the policy does not list); it never skips verification.
    """
    repo = open_remote(remote)
    result = promote_verified(
        repo,
        source_env=source,
        target_env=target,
        revision=revision,
        author=author_identity(author),
        mode=cast(Literal["pr", "auto"] | None, mode),
        ignore_gates=ignore_gates,
        signer=cli_signer(remote),
    )
    if output == "json":
        click.echo(
            json.dumps({"ref": result.target_ref, "commit": result.commit, "pushed": result.pushed})
        )
    elif result.pushed:
        click.echo(f"promoted to {result.target_ref}: {result.commit}")
    else:
        click.echo(f"{result.target_ref} already holds this revision")
