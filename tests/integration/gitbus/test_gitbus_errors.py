"""Every failure leaves as its own GitError, naming the remote without credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import (
    GitError,
    RemoteUnreachable,
)
from orchestrator.gitbus import protocol
from orchestrator.gitbus.auth import SshAuth
from orchestrator.gitbus.repo import CacheRepo
from tests.integration.gitbus.gitbus_seed import DEV
from tests.integration.gitbus.gitbus_servers import (
    RemoteFactory,
    SshServer,
    free_port,
)


@pytest.mark.parametrize("kind", ["git", "ssh", "http"])
def test_closed_port_is_unreachable(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    port = free_port()  # nothing listens here
    auth = None
    if kind == "ssh":
        ssh: SshServer = request.getfixturevalue("ssh_server")
        auth = SshAuth(
            username=ssh.user, private_key_path=ssh.user_key, known_hosts=ssh.known_hosts
        )
        url = f"ssh://{ssh.user}@127.0.0.1:{port}/x.git"
    elif kind == "http":
        url = f"http://agent:tok3n-in-url@127.0.0.1:{port}/x.git"
    else:
        url = f"git://127.0.0.1:{port}/x.git"
    cache = CacheRepo.open(tmp_path / "c", remote_url=url, auth=auth)
    with pytest.raises(RemoteUnreachable) as info:
        cache.poll([DEV])
    assert "tok3n-in-url" not in str(info.value)
    assert "tok3n-in-url" not in info.value.remote
    assert "127.0.0.1" in info.value.remote


def test_missing_repositories_are_unreachable(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    daemon = request.getfixturevalue("git_daemon")
    for url in (str(tmp_path / "nope.git"), f"file://{tmp_path}/nope.git", daemon.url("nope.git")):
        cache = CacheRepo.open(tmp_path / f"c{abs(hash(url))}", remote_url=url)
        with pytest.raises(RemoteUnreachable):
            cache.list_remote()


def test_errors_are_git_errors_with_stripped_remote(make_remote: RemoteFactory) -> None:
    remote = make_remote("http")
    url = remote.url.replace("http://", "http://agent:leaky-token-5521@")
    cache = CacheRepo.open(remote.caches / "x", remote_url=url, auth=None)
    with pytest.raises(GitError) as info:
        cache.fetch([protocol.env_branch("nope")])
    assert "leaky-token-5521" not in str(info.value)
    assert "leaky-token-5521" not in cache.remote
    config = (remote.caches / "x" / "config").read_text()
    assert "leaky-token-5521" not in config
