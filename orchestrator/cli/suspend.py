"""`orchestrator suspend ENV` / `resume ENV`: hold an environment's agent, through Git."""

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
from orchestrator.gitbus import protocol
from orchestrator.promote.write.suspension import read_suspension, set_suspended


def _run(
    *, remote: str, environment: str, suspend: bool, reason: str, author: str, output: str
) -> None:
    protocol.check_env(environment)
    repo = open_remote(remote)
    if repo.refresh(protocol.env_branch(environment)) is None:
        raise click.UsageError(f"{protocol.env_branch(environment)} does not exist")
    result = set_suspended(
        repo,
        environment=environment,
        suspend=suspend,
        reason=reason,
        author=author_identity(author),
        signer=cli_signer(remote),
    )
    held = read_suspension(repo, environment=environment)
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "environment": environment,
                    "suspended": held is not None,
                    "changed": result.pushed,
                    "ref": result.ref,
                    "commit": result.commit,
                    "suspension": held.to_json() if held else None,
                }
            )
        )
        return
    verb = "suspended" if suspend else "resumed"
    if result.pushed:
        click.echo(f"{verb} {environment} ({result.ref} at {(result.commit or '')[:12]})")
    elif held is not None:
        click.echo(f"unchanged: {held.describe()}")
    else:
        click.echo(f"unchanged: {environment} is not suspended")


@click.command("suspend")
@click.argument("environment")
@repo_option
@click.option("--reason", default="", help="Why, for everyone who reads the pipeline.")
@author_option
@output_option
def suspend_command(environment: str, remote: str, reason: str, author: str, output: str) -> None:
    """Hold ENV: its agent applies nothing and promotes nothing until `resume`.

    Recorded in Git as a commit on branch control/ENV (see docs/protocol.md), so
    every replica of the agent, and every reader of the repository, sees it: a
    new leader holds too, and `status` shows who suspended it, when and why.
    A reconcile in progress stops at its next stage. Merges into ENV still land
    on its branch; they are applied on resume. Suspending a suspended
    environment changes nothing.
    """
    _run(
        remote=remote,
        environment=environment,
        suspend=True,
        reason=reason,
        author=author,
        output=output,
    )


@click.command("resume")
@click.argument("environment")
@repo_option
@author_option
@output_option
def resume_command(environment: str, remote: str, author: str, output: str) -> None:
    """Release ENV after `suspend`: its agent reconciles the branch tip at its next poll.

    A commit on branch control/ENV removes the hold; the agent's next poll
    applies the tip (also when it did not move), checks health and promotes.
    Resuming an environment that is not suspended changes nothing.
    """
    _run(
        remote=remote,
        environment=environment,
        suspend=False,
        reason="",
        author=author,
        output=output,
    )
