"""Fixtures: real bare repositories behind real transports, stopped after the session."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.gitbus.auth import Auth, HttpsAuth, Secret, SshAuth
from tests.integration.gitbus.gitbus_servers import (
    GitDaemon,
    HttpServer,
    Remote,
    RemoteFactory,
    SshServer,
    git_env,
    init_bare,
)

TRANSPORTS = ["path", "file", "git", "ssh", "http"]
_names = itertools.count()


@pytest.fixture(scope="session")
def servers_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gitbus-servers")


@pytest.fixture(scope="session")
def repos_root(servers_root: Path) -> Path:
    root = servers_root / "repos"
    root.mkdir()
    return root


@pytest.fixture(scope="session")
def git_daemon(repos_root: Path) -> Iterator[GitDaemon]:
    daemon = GitDaemon(base=repos_root)
    try:
        yield daemon.start()
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def ssh_server(servers_root: Path) -> Iterator[SshServer]:
    server = SshServer(root=servers_root / "ssh")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def http_server(repos_root: Path) -> Iterator[HttpServer]:
    server = HttpServer(root=repos_root)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return git_env(home)


@pytest.fixture
def make_remote(request: pytest.FixtureRequest, repos_root: Path, tmp_path: Path) -> RemoteFactory:
    """Factory: a fresh bare repository reachable over the named transport."""

    def make(kind: str) -> Remote:
        name = f"r{next(_names)}-{kind}.git"
        path = init_bare(repos_root / name)
        auth: Auth = None
        if kind == "path":
            url = str(path)
        elif kind == "file":
            url = f"file://{path}"
        elif kind == "git":
            url = request.getfixturevalue("git_daemon").url(name)
        elif kind == "ssh":
            ssh: SshServer = request.getfixturevalue("ssh_server")
            url = ssh.url(path)
            auth = SshAuth(
                username=ssh.user, private_key_path=ssh.user_key, known_hosts=ssh.known_hosts
            )
        elif kind == "http":
            http: HttpServer = request.getfixturevalue("http_server")
            url = http.url(name)
            auth = HttpsAuth(username=http.user, token=Secret(http.token))
        else:
            raise ValueError(kind)
        caches = tmp_path / f"caches-{name}"
        caches.mkdir()
        return Remote(kind=kind, path=path, url=url, auth=auth, caches=caches)

    return make


@pytest.fixture(params=TRANSPORTS)
def remote(request: pytest.FixtureRequest, make_remote: RemoteFactory) -> Remote:
    """One fresh bare repository per transport."""
    return make_remote(request.param)
