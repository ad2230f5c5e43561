"""A cache clone that is shallow, corrupt or another remote's is refused when opened."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import (
    RepositoryCorrupt,
)
from orchestrator.gitbus.repo import CacheRepo
from tests.integration.gitbus.gitbus_seed import AGENT, DEV, seed
from tests.integration.gitbus.gitbus_servers import (
    RemoteFactory,
    git,
)


def test_shallow_cache_is_refused(
    make_remote: RemoteFactory, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    remote = make_remote("path")
    first = seed(remote)
    cache = remote.cache("c")
    cache.push_with_retry(
        ref=DEV,
        rebuild=lambda t: cache.create_commit(
            parent=t, subject="2", author=AGENT, changes={"b": b"2"}
        ),
    )
    shallow = remote.caches / "shallow"
    git(
        "clone",
        "-q",
        "--bare",
        "--depth=1",
        "--branch=dev",
        f"file://{remote.path}",
        str(shallow),
        env=cli_env,
    )
    assert (shallow / "shallow").is_file()
    git("config", "orchestrator.remote", remote.url, cwd=shallow, env=cli_env)
    with pytest.raises(RepositoryCorrupt, match="shallow"):
        CacheRepo.open(shallow, remote_url=remote.url)
    assert first


def test_corrupt_caches_are_refused(make_remote: RemoteFactory) -> None:
    remote = make_remote("path")
    seed(remote)
    cache = remote.cache("c")
    cache.poll([DEV])
    for pack in (cache.path / "objects" / "pack").glob("*"):
        pack.unlink()
    for loose in (cache.path / "objects").glob("??/*"):
        loose.unlink()
    with pytest.raises(RepositoryCorrupt, match="missing object"):
        remote.cache("c")

    garbage = remote.caches / "garbage"
    garbage.mkdir()
    (garbage / "HEAD").write_text("not a ref\n")
    with pytest.raises(RepositoryCorrupt):
        CacheRepo.open(garbage, remote_url=remote.url)

    with pytest.raises(RepositoryCorrupt, match="belongs to"):
        CacheRepo.open(remote.caches / "seed", remote_url=remote.url + "-other")
