"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from orchestrator.errors import SettingsError
from orchestrator.gitbus.auth import Auth
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.signing import Signer
from orchestrator.settings import GitSettings
from orchestrator.wiring import cache_path, git_auth, open_cache, signer

F = TypeVar("F", bound=Callable[..., Any])
_AUTHOR = re.compile(r"^(?P<name>[^<>]+?)\s*<(?P<email>[^<>@\s]+@[^<>\s]+)>$")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "orchestrator" / "repos"


def cli_auth(url: str) -> Auth:
    """Credentials for commands run by people: the agent's git settings, from the environment.

    `ORCHESTRATOR_GIT__SSH_KEY_FILE`, `__KNOWN_HOSTS_FILE`, `__TOKEN`, `__TOKEN_FILE`, ...
    mean here what they mean for an agent.
    """
    return git_auth(cli_git_settings(url))


def cli_signer(remote: str) -> Signer | None:
    """The signer for the commits a command writes: `ORCHESTRATOR_GIT__SIGNING_KEY_FILE`.

    An environment whose policy trusts only signed commits refuses an unsigned
    merge, so `approve`, `publish` and `promote` sign as the agents do.
    """
    return signer(cli_git_settings(_url(remote)))


def cli_git_settings(url: str) -> GitSettings:
    """The agent's git settings for `url`, from `ORCHESTRATOR_GIT__*` in the environment."""
    prefix = "ORCHESTRATOR_GIT__"
    given = {
        name: os.environ[prefix + name.upper()]
        for name in GitSettings.model_fields
        if name != "url" and prefix + name.upper() in os.environ
    }
    try:
        git = GitSettings.model_validate({"url": url, **given})
    except ValidationError as exc:
        problems = [
            f"{prefix}{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        ]
        raise SettingsError(problems) from None
    return git


def _url(remote: str) -> str:
    return str(Path(remote).resolve()) if Path(remote).exists() else remote


def open_remote(remote: str) -> CacheRepo:
    """A cache clone of `remote`, kept between runs under ~/.cache/orchestrator/repos."""
    url = _url(remote)
    return open_cache(cli_git_settings(url), path=cache_path(cache_dir(), url=url))


def author_identity(text: str) -> Identity:
    match = _AUTHOR.match(text.strip())
    if match is None:
        raise click.BadParameter("use the form 'Name <email@example.com>'", param_hint="--author")
    return Identity(name=match["name"], email=match["email"])


def author_option(func: F) -> F:
    return click.option(
        "--author",
        default=lambda: os.environ.get(
            "ORCHESTRATOR_AUTHOR", "orchestrator <orchestrator@localhost>"
        ),
        show_default="orchestrator <orchestrator@localhost>, or $ORCHESTRATOR_AUTHOR",
        help="Author of the commit, as 'Name <email>'.",
    )(func)


def output_option(func: F) -> F:
    return click.option(
        "-o",
        "--output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="json for scripts.",
    )(func)


def cluster_options(func: F) -> F:
    """`--kubeconfig` and `--context`, the same on every command that talks to a cluster."""
    func = click.option(
        "--context",
        default=None,
        help="Kubeconfig context (default: the kubeconfig's current context).",
    )(func)
    return click.option(
        "--kubeconfig",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Kubeconfig file. Default: $KUBECONFIG, else the pod's ServiceAccount "
        "when in a cluster, else ~/.kube/config.",
    )(func)


REPO_ENV = "ORCHESTRATOR_REPO"


def repo_option(func: F) -> F:
    """`--repo`, defaulting to $ORCHESTRATOR_REPO so a shell or CI job sets it once."""
    return click.option(
        "--repo",
        "remote",
        envvar=REPO_ENV,
        show_envvar=True,
        required=True,
        help="Repository URL or path.",
    )(func)
