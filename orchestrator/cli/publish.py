"""`orchestrator publish`: write rendered configuration as a candidate delivery."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from orchestrator.cli.common import (
    author_identity,
    author_option,
    cli_signer,
    open_remote,
    output_option,
    repo_option,
)
from orchestrator.cli.main import EXIT_INVALID
from orchestrator.cli.validation import candidate_problems, file_problems
from orchestrator.errors import GitError, OrchestratorError, PublicationRefused
from orchestrator.gitbus.directory import read_directory
from orchestrator.gitbus.limits import ReadLimits
from orchestrator.gitbus.protocol import check_feature
from orchestrator.promote.revision.source import RevisionTree
from orchestrator.promote.write.publish import Publication, publish


def _read_dir(directory: Path) -> dict[str, bytes]:
    """The files to publish, read as the agent will read them once pushed.

    A symlink, a file over the agent's default read limits, or a manifest or
    parameter file its loader refuses (too large, too deep, an alias bomb,
    duplicate keys, not YAML) is refused here, so that it never enters history.
    """
    try:
        files = read_directory(directory, limits=ReadLimits())
    except GitError as exc:
        _refuse([str(exc)])
    if not files:
        raise OrchestratorError(f"{directory}: no files to publish")
    problems = file_problems(files)
    if problems:
        _refuse(problems)
    return files


def _refuse(problems: list[str]) -> NoReturn:
    for problem in problems:
        click.secho(f"problem: {problem}", fg="red", err=True)
    click.echo(
        f"not published: {len(problems)} problem(s), as `orchestrator validate` reports", err=True
    )
    sys.exit(EXIT_INVALID)


@click.command("publish")
@repo_option
@click.option("--env", "environment", required=True, help="The first environment, e.g. staging.")
@click.option("--feature", required=True, help="Delivery name; the branch is pr/<env>/<feature>.")
@click.option(
    "--from",
    "directory",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of rendered manifests; becomes the environment's delivery directory.",
)
@click.option("--source-commit", help="Commit of the application source (Source-Commit trailer).")
@click.option("--message", default="", help="Commit subject.")
@author_option
@output_option
def command(
    remote: str,
    environment: str,
    feature: str,
    directory: Path,
    source_commit: str | None,
    message: str,
    author: str,
    output: str,
) -> None:
    """Publish DIR as delivery FEATURE for ENV (a commit on pr/<env>/<feature>).

    The commit replaces the environment's delivery directory (the policy's `path`)
    with the files of DIR and carries the Delivery and Source-Commit trailers. The
    directory's .orchestrator/ (the environments' parameter files) stays as it is,
    unless DIR has one of its own. Publishing the same files again changes nothing.

    Nothing is pushed (exit code 3, each problem listed) when ENV's agent would
    refuse the result: links, files over the read limits, files its loader cannot
    read, and, when the branch has a policy for ENV, whatever `validate` finds in
    the candidate commit except placeholders the agents' settings fill.
    """
    try:
        check_feature(feature)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--feature") from None
    files = _read_dir(directory)  # refused before anything is fetched or written
    repo = open_remote(remote)
    click.echo(f"publishing {len(files)} file(s) as {feature} to {environment} ...", err=True)

    def check(commit: str) -> None:
        problems = candidate_problems(RevisionTree(repo, commit), environment=environment)
        if problems:
            raise PublicationRefused(problems)

    try:
        result = publish(
            repo,
            Publication(
                environment=environment,
                feature=feature,
                files=files,
                source_commit=source_commit,
                message=message,
            ),
            author=author_identity(author),
            signer=cli_signer(remote),
            check=check,
        )
    except PublicationRefused as exc:
        _refuse(exc.problems)
    if output == "json":
        click.echo(
            json.dumps({"ref": result.target_ref, "commit": result.commit, "pushed": result.pushed})
        )
    elif result.pushed:
        click.echo(f"pushed {result.target_ref} at {result.commit}")
    else:
        click.echo(f"unchanged: {result.target_ref} already holds these files")
