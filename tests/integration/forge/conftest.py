"""A real Gitea for the forge tests, started once per session on first use.

When Gitea cannot be built or started, a test is skipped locally (with the reason)
but fails loudly in CI (CI=true), like the control plane.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e.forge import ADMIN_USER, BuildError, GiteaError, GiteaServer, ensure_gitea
from orchestrator.forge import connect
from orchestrator.forge.protocol import Forge
from tests.prerequisites import require_command, unavailable


class GiteaPool:
    """The session's Gitea, started on demand; a failure is remembered, not retried."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.server: GiteaServer | None = None
        self.error: str | None = None

    def get(self) -> GiteaServer:
        if self.error is not None:
            unavailable(f"gitea: {self.error}")
        if self.server is None:
            require_command("git")
            try:
                server = GiteaServer(binary=ensure_gitea(), directory=self.directory)
                self.server = server.start()
            except (BuildError, GiteaError) as exc:
                self.error = str(exc)
                unavailable(f"gitea: {self.error}")
        return self.server

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


@pytest.fixture(scope="session")
def gitea_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GiteaPool]:
    pool = GiteaPool(tmp_path_factory.mktemp("gitea"))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session")
def gitea(gitea_pool: GiteaPool) -> GiteaServer:
    """A running Gitea with an admin user and an API token."""
    return gitea_pool.get()


# The scopes docs/forges.md tells operators to give the agent's Gitea token.
AGENT_TOKEN_SCOPES = ["write:repository", "write:issue"]


@pytest.fixture(scope="session")
def agent_token(gitea: GiteaServer) -> str:
    """A token with only the documented scopes: what the adapter is tested with."""
    return gitea.create_token(AGENT_TOKEN_SCOPES)


@dataclass(frozen=True)
class BusRepo:
    """A fresh repository on the Gitea, with `staging` as its default branch."""

    name: str
    full_name: str
    server: GiteaServer
    forge: Forge
    token_file: Path


@pytest.fixture
def bus_repo(gitea: GiteaServer, agent_token: str, tmp_path: Path) -> BusRepo:
    name = f"bus-{secrets.token_hex(4)}"
    answer = gitea.api(
        "POST", "/user/repos", {"name": name, "auto_init": True, "default_branch": "staging"}
    )
    assert answer.status == 201, answer.data
    token_file = tmp_path / "token"
    token_file.write_text(agent_token + "\n")
    full_name = f"{ADMIN_USER}/{name}"
    forge = connect(
        kind="gitea", api_url=gitea.api_url, repository=full_name, token_file=token_file
    )
    return BusRepo(name=name, full_name=full_name, server=gitea, forge=forge, token_file=token_file)
