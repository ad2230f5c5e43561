"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from orchestrator.gitbus.auth import Auth, HttpsAuth, Secret, SshAuth
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo

F = TypeVar("F", bound=Callable[..., Any])
_AUTHOR = re.compile(r"^(?P<name>[^<>]+?)\s*<(?P<email>[^<>@\s]+@[^<>\s]+)>$")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "orchestrator" / "repos"


def cli_auth() -> Auth:
    """Credentials for commands run by people: an SSH key or a token from the environment."""
    key = os.environ.get("ORCHESTRATOR_GIT__SSH_KEY_FILE")
    if key:
        return SshAuth(
            username=os.environ.get("ORCHESTRATOR_GIT__USERNAME", "git"),
            private_key_path=Path(key),
        )
    token = os.environ.get("ORCHESTRATOR_GIT__TOKEN")
    if token:
        return HttpsAuth(
            username=os.environ.get("ORCHESTRATOR_GIT__USERNAME", "git"), token=Secret(token)
        )
    return None


def open_remote(remote: str) -> CacheRepo:
    """A cache clone of `remote`, kept between runs under ~/.cache/orchestrator/repos."""
    url = str(Path(remote).resolve()) if Path(remote).exists() else remote
    path = cache_dir() / hashlib.sha256(url.encode()).hexdigest()[:16]
    path.parent.mkdir(parents=True, exist_ok=True)
    return CacheRepo.open(path, remote_url=url, auth=cli_auth())


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
