"""The cache clone itself: opening it, checking it is sound, and its own refs.

A cache clone is a bare local repository whose refs move only by a fetch or
right after our own push succeeded; the refs of the remote it mirrors are
those under the caller's prefixes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pygit2

from orchestrator.errors import RepositoryCorrupt
from orchestrator.gitbus._libgit2.errors import translated
from orchestrator.gitbus._libgit2.remote import Remote
from orchestrator.gitbus.limits import ReadLimits

_REMOTE_KEY = "orchestrator.remote"
_CONNECT_TIMEOUT_MS = 15_000
_SERVER_TIMEOUT_MS = 60_000


@dataclass(frozen=True, kw_only=True, slots=True)
class Store:
    """An opened cache clone, the remote it mirrors and the ceilings of a read."""

    repo: pygit2.Repository
    remote: Remote
    limits: ReadLimits

    @property
    def path(self) -> Path:
        """Directory of the bare cache clone."""
        return Path(self.repo.path)

    def anonymous_remote(self) -> pygit2.Remote:
        """A fresh remote object for one operation.

        pygit2 reports a push rejection only on a remote object that has not
        pushed before.
        """
        return self.repo.remotes.create_anonymous(self.remote.url)


def open_store(path: Path, *, remote: Remote, limits: ReadLimits, mirrored: Sequence[str]) -> Store:
    """Open the cache clone at `path`, creating an empty bare one if there is none.

    A cache that is not bare, is shallow, belongs to another remote or has a
    mirrored ref (one under a `mirrored` prefix) pointing at a missing object
    is refused as RepositoryCorrupt.
    """
    _configure_libgit2()
    try:
        if not path.exists() or (path.is_dir() and not any(path.iterdir())):
            repository = pygit2.init_repository(str(path), bare=True)
            repository.config[_REMOTE_KEY] = remote.safe_url
        else:
            repository = pygit2.Repository(str(path), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except (pygit2.GitError, OSError) as exc:
        raise RepositoryCorrupt(
            f"cache clone {path} cannot be opened: {remote.redact(str(exc))}",
            remote=remote.safe_url,
        ) from None
    store = Store(repo=repository, remote=remote, limits=limits)
    _check_sound(store, path=path, mirrored=mirrored)
    return store


def _check_sound(store: Store, *, path: Path, mirrored: Sequence[str]) -> None:
    repo, safe = store.repo, store.remote.safe_url
    with translated(store.remote):
        if repo.is_shallow:
            raise RepositoryCorrupt(f"cache clone {path} is shallow", remote=safe)
        if not repo.is_bare:
            raise RepositoryCorrupt(f"cache clone {path} is not bare", remote=safe)
        config = repo.config
        recorded = config[_REMOTE_KEY] if _REMOTE_KEY in config else None  # noqa: SIM401 - no Config.get
        if recorded != safe:
            raise RepositoryCorrupt(f"cache clone {path} belongs to {recorded!r}", remote=safe)
        for ref, sha in local_refs(store, mirrored).items():
            if pygit2.Oid(hex=sha) not in repo.odb:
                raise RepositoryCorrupt(
                    f"cache clone {path}: {ref} points at missing object {sha}", remote=safe
                )


def local_refs(store: Store, prefixes: Sequence[str]) -> dict[str, str]:
    """The cache's direct refs under `prefixes`, by name."""
    out: dict[str, str] = {}
    with translated(store.remote):
        for name in store.repo.references:
            if name.startswith(tuple(prefixes)):
                target = store.repo.references[name].target
                if isinstance(target, pygit2.Oid):
                    out[name] = str(target)
    return out


def local_tip(store: Store, ref: str) -> str | None:
    """Where the cache's `ref` points, None if it has none."""
    with translated(store.remote):
        reference = store.repo.references.get(ref)
        return str(reference.target) if reference is not None else None


def delete_refs(store: Store, refs: Sequence[str]) -> None:
    """Drop these refs from the cache; refs it does not have are skipped."""
    with translated(store.remote):
        for ref in refs:
            if store.repo.references.get(ref) is not None:
                store.repo.references.delete(ref)


_configured = False


def _configure_libgit2() -> None:
    """Bound network waits: a silent server must not hang the agent forever."""
    global _configured  # noqa: PLW0603 - process-wide libgit2 options, set once
    if _configured:
        return
    if not pygit2.settings.server_connect_timeout:
        pygit2.settings.server_connect_timeout = _CONNECT_TIMEOUT_MS
    if not pygit2.settings.server_timeout:
        pygit2.settings.server_timeout = _SERVER_TIMEOUT_MS
    _configured = True
