"""Choose the adapter for a forge kind and give it the real transport and the token file."""

from __future__ import annotations

from pathlib import Path

from orchestrator.forge.gitea import Gitea
from orchestrator.forge.github import GitHub
from orchestrator.forge.gitlab import GitLab
from orchestrator.forge.http import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    JsonApi,
    TokenFile,
    Transport,
    UrllibTransport,
)
from orchestrator.forge.protocol import Forge

_ADAPTERS: dict[str, type[Gitea] | type[GitHub] | type[GitLab]] = {
    "gitea": Gitea,
    "forgejo": Gitea,
    "github": GitHub,
    "gitlab": GitLab,
}
FORGE_KINDS = tuple(sorted(_ADAPTERS))


def connect(
    *,
    kind: str,
    api_url: str,
    repository: str,
    token_file: Path,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    transport: Transport | None = None,
) -> Forge:
    """The forge adapter for `kind` ("gitea", "forgejo", "github", "gitlab").

    `api_url` is the API root: `https://gitea.example/api/v1`, `https://api.github.com`,
    `https://gitlab.example/api/v4`. The token is read from `token_file` on each call.
    """
    try:
        adapter = _ADAPTERS[kind]
    except KeyError:
        raise ValueError(f"unknown forge {kind!r}; one of {', '.join(FORGE_KINDS)}") from None
    token = TokenFile(token_file)
    api = JsonApi(
        base_url=api_url,
        auth=lambda: adapter.auth(token.read()),
        transport=transport or UrllibTransport(timeout=timeout, max_bytes=max_bytes),
        extra_headers=adapter.headers,
    )
    return adapter(api=api, repository=repository)
