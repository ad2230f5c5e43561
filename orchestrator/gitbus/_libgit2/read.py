"""Reading the cache: commits, files under a directory (bounded), ancestry.

Files are read straight from the object database (no checkout), and every
object's size is read from its header before it is inflated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pygit2

from orchestrator.errors import BranchNotFound, ReadLimitExceeded, UnsafePath
from orchestrator.gitbus._libgit2.errors import translated
from orchestrator.gitbus._libgit2.objects import FILE_MODES, TREE, blob, bounded_tree, check_size
from orchestrator.gitbus._libgit2.people import Person, person
from orchestrator.gitbus._libgit2.store import Store
from orchestrator.gitbus.limits import read_over_limit


@dataclass(frozen=True, slots=True)
class RawCommit:
    """A commit's header and message, and whether it carries a signature."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Person
    committer: Person
    message: str
    signed: bool


def commit(store: Store, rev: str) -> pygit2.Commit:
    """The commit a full ref name (`refs/...`) or a full sha names, size-checked.

    BranchNotFound if the cache has no such ref or commit.
    """
    safe = store.remote.safe_url
    with translated(store.remote):
        if rev.startswith("refs/"):
            reference = store.repo.references.get(rev)
            if reference is None:
                raise BranchNotFound(f"{rev} is not in the cache clone", remote=safe)
            oid = reference.target
        else:
            oid = pygit2.Oid(hex=rev)
        if oid not in store.repo.odb:
            raise BranchNotFound(f"commit {oid} is not in the cache clone", remote=safe)
        oid = pygit2.Oid(hex=str(oid))
        check_size(store, oid, what=f"commit {oid}")
        obj: object = store.repo[oid]
        if not isinstance(obj, pygit2.Commit):
            raise BranchNotFound(f"{rev} is not a commit", remote=safe)
        return obj


def raw_commit(store: Store, rev: str) -> RawCommit:
    """What a commit says, without its files."""
    found = commit(store, rev)
    with translated(store.remote):
        signature, _ = found.gpg_signature
        return RawCommit(
            sha=str(found.id),
            tree=str(found.tree_id),
            parents=tuple(str(p) for p in found.parent_ids),
            author=person(found.author),
            committer=person(found.committer),
            message=found.message,
            signed=signature is not None,
        )


def gpg_signature(store: Store, rev: str) -> tuple[str, bytes | None, bytes]:
    """(sha, gpgsig header or None, the signed buffer) of a commit."""
    found = commit(store, rev)
    with translated(store.remote):
        signature, payload = found.gpg_signature
        return str(found.id), signature, payload


def is_ancestor(store: Store, ancestor: str, descendant: str) -> bool:
    """True if `ancestor` is `descendant` or one of its ancestors."""
    a, d = commit(store, ancestor).id, commit(store, descendant).id
    with translated(store.remote):
        return a == d or bool(store.repo.descendant_of(d, a))


def same_tree(store: Store, a: str, b: str) -> bool:
    """True if two commits record the same tree."""
    return commit(store, a).tree_id == commit(store, b).tree_id


def read_files(store: Store, rev: str, *, parts: Sequence[str]) -> dict[str, bytes]:
    """Files below the directory `parts` at a commit, by path relative to it.

    A missing directory reads as no files. A symlink, a submodule or an entry
    name that could leave the directory anywhere below refuses the whole read
    with UnsafePath; an object over the per-file limit, or files together
    over the per-read limit, with ReadLimitExceeded.
    """
    top = commit(store, rev)
    files: dict[str, bytes] = {}
    with translated(store.remote):
        tree = bounded_tree(store, top.tree_id, what="/")
        for depth, part in enumerate(parts):
            if part not in tree:
                return files
            entry = tree[part]
            where = "/".join(parts[: depth + 1])
            if entry.filemode != TREE:
                raise UnsafePath(f"{where} is not a directory", remote=store.remote.safe_url)
            tree = bounded_tree(store, entry.id, what=where)
        _Walk(store, base="/".join(parts), out=files).tree(tree, prefix="")
    return files


class _Walk:
    """One bounded walk of a directory, counting the bytes read so far."""

    def __init__(self, store: Store, *, base: str, out: dict[str, bytes]) -> None:
        self._store = store
        self._base = base
        self._out = out
        self._spent = 0

    def _refuse(self, message: str) -> UnsafePath:
        return UnsafePath(message, remote=self._store.remote.safe_url)

    def tree(self, tree: pygit2.Tree, *, prefix: str) -> None:
        store, limit = self._store, self._store.limits.max_revision_bytes
        for entry in tree:
            name = entry.name or ""
            path = f"{prefix}{name}"
            shown = f"{self._base}/{path}" if self._base else path
            if name in ("", ".", "..") or "/" in name or "\0" in name or "\\" in name:
                raise self._refuse(f"tree entry {shown!r} leaves the directory")
            mode = entry.filemode
            if mode == pygit2.enums.FileMode.LINK:
                raise self._refuse(f"{shown} is a symlink")
            if mode == TREE:
                self.tree(bounded_tree(store, entry.id, what=shown), prefix=f"{path}/")
            elif mode in FILE_MODES:
                self._spent += check_size(store, entry.id, what=shown)
                if self._spent > limit:
                    raise ReadLimitExceeded(
                        read_over_limit(self._spent, limit),
                        path=shown,
                        remote=store.remote.safe_url,
                    )
                self._out[path] = blob(store.repo, entry.id)
            else:
                raise self._refuse(f"{shown} is a submodule or unknown entry")
