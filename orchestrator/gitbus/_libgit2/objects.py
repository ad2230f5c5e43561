"""Typed access to single objects, with sizes checked from headers before inflating."""

from __future__ import annotations

import pygit2

from orchestrator.errors import ReadLimitExceeded, RepositoryCorrupt
from orchestrator.gitbus._libgit2.store import Store
from orchestrator.gitbus.limits import file_over_limit

FILE = pygit2.enums.FileMode.BLOB
FILE_MODES = (pygit2.enums.FileMode.BLOB, pygit2.enums.FileMode.BLOB_EXECUTABLE)
TREE = pygit2.enums.FileMode.TREE


def tree(repo: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Tree:
    """The tree `oid` names; RepositoryCorrupt if it is something else."""
    obj: object = repo[oid]
    if not isinstance(obj, pygit2.Tree):
        raise RepositoryCorrupt(f"{oid} should be a tree")
    return obj


def blob(repo: pygit2.Repository, oid: pygit2.Oid) -> bytes:
    """The content of the blob `oid` names; RepositoryCorrupt if it is something else."""
    obj: object = repo[oid]
    if not isinstance(obj, pygit2.Blob):
        raise RepositoryCorrupt(f"{oid} should be a blob")
    return bytes(obj.data)


def check_size(store: Store, oid: pygit2.Oid, *, what: str) -> int:
    """The object's size from its header; ReadLimitExceeded if over the per-file limit."""
    limit = store.limits.max_file_bytes
    _, size = store.repo.odb.read_header(oid)
    if size > limit:
        raise ReadLimitExceeded(
            file_over_limit(size, limit), path=what, remote=store.remote.safe_url
        )
    return int(size)


def bounded_tree(store: Store, oid: pygit2.Oid, *, what: str) -> pygit2.Tree:
    """A tree whose size was checked first."""
    check_size(store, oid, what=what)
    return tree(store.repo, oid)
