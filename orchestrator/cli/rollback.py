"""`orchestrator rollback ENV --to REV`: restore a verified delivery, through every guard."""

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
from orchestrator.promote.write.rollback import roll_back


@click.command("rollback")
@repo_option
@click.argument("environment")
@click.option(
    "--to",
    "to",
    required=True,
    metavar="REV",
    help="The revision to restore: a commit of ENV's branch its agent verified (sha or ref).",
)
@author_option
@output_option
def command(remote: str, environment: str, to: str, author: str, output: str) -> None:
    """Roll ENV back to the delivery it ran at REV, as a new commit on its branch.

    \b
    The commit restores ENV's delivery directory as of REV and keeps everything else
    (the policy, the parameters) as it is now. REV must be on ENV's first-parent line
    and its note must say ENV's agent verified it (Healthy, Waiting, Promoted or
    DriftCorrected, with no later Failed or RolledBack); anything else is refused.
    The agent then delivers the commit like any merge: signature against its trust
    root (sign with ORCHESTRATOR_GIT__SIGNING_KEY_FILE), policy and ceiling, health,
    soak and verification runs. Follow it with `orchestrator wait ENV --revision`.
    """
    protocol.check_env(environment)
    repo = open_remote(remote)
    result = roll_back(
        repo,
        environment=environment,
        to=to,
        author=author_identity(author),
        signer=cli_signer(remote),
    )
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "ref": result.target_ref,
                    "commit": result.commit,
                    "pushed": result.pushed,
                    "restored": result.restored,
                    "delivery": result.delivery,
                }
            )
        )
    elif result.pushed:
        click.echo(
            f"{environment}: rolled back to {result.restored[:12]} ({result.delivery}) "
            f"in {result.commit}; the agent delivers it next"
        )
    else:
        click.echo(f"{environment} already holds the delivery of {result.restored[:12]}")
