"""Writing commit objects: plain and merge commits, and a change merged onto a tree.

Nothing here moves a ref; the caller pushes what it wrote. A signed commit
carries its signature in the `gpgsig` header, byte for byte as `git commit -S`
writes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

import pygit2

from orchestrator.errors import MergeConflict
from orchestrator.gitbus._libgit2.errors import translated
from orchestrator.gitbus._libgit2.objects import tree
from orchestrator.gitbus._libgit2.paths import nest
from orchestrator.gitbus._libgit2.people import Stamp, signature
from orchestrator.gitbus._libgit2.read import commit
from orchestrator.gitbus._libgit2.store import Store
from orchestrator.gitbus._libgit2.trees import apply_changes, replace_subtree, subtree

Sign = Callable[[bytes], str]
"""Commit buffer -> armored detached signature."""


def create_commit(
    store: Store,
    *,
    parent: str | None,
    message: str,
    author: Stamp,
    committer: Stamp,
    changes: Mapping[str, bytes | None],
    base_tree: str | None,
    sign: Sign | None,
) -> str:
    """Write a commit whose tree is `base_tree` (default: the parent's) with `changes` applied.

    `changes` maps paths to new content, or None to delete; directories left
    empty vanish. Returns the commit's sha.
    """
    change = nest(changes)
    with translated(store.remote):
        parents = [commit(store, parent).id] if parent is not None else []
        base: pygit2.Tree | None = None
        if base_tree is not None:
            base = tree(store.repo, pygit2.Oid(hex=base_tree))
        elif parent is not None:
            base = commit(store, parent).tree
        written = apply_changes(store.repo, base=base, change=change)
    return _write(
        store,
        author=author,
        committer=committer,
        message=message,
        tree=written,
        parents=parents,
        sign=sign,
    )


def _write(
    store: Store,
    *,
    author: Stamp,
    committer: Stamp,
    message: str,
    tree: pygit2.Oid,
    parents: Sequence[pygit2.Oid],
    sign: Sign | None,
) -> str:
    """The commit object, signed when there is a `sign` (the `gpgsig` header)."""
    repo = store.repo
    with translated(store.remote):
        author_sig, committer_sig = signature(author), signature(committer)
        if sign is None:
            oid = repo.create_commit(None, author_sig, committer_sig, message, tree, list(parents))
            return str(oid)
        content = cast(
            str,
            repo.create_commit_string(
                author_sig, committer_sig, message, tree, list[str | pygit2.Oid](parents)
            ),
        )
    armored = sign(content.encode())
    with translated(store.remote):
        return str(repo.create_commit_with_signature(content, armored.rstrip("\n")))


def _conflicts(index: pygit2.Index) -> list[str] | None:
    if index.conflicts is None:
        return None
    return sorted({entry.path for side in index.conflicts for entry in side if entry is not None})


def merge_commit(
    store: Store, *, ours: str, theirs: str, message: str, author: Stamp, sign: Sign | None
) -> str:
    """A merge commit of `theirs` into `ours`; MergeConflict naming the paths, writing nothing."""
    ours_commit, theirs_commit = commit(store, ours), commit(store, theirs)
    with translated(store.remote):
        index = store.repo.merge_commits(ours_commit, theirs_commit)
        paths = _conflicts(index)
        if paths is not None:
            raise MergeConflict(
                f"merging {theirs[:12]} into {ours[:12]} conflicts in: {', '.join(paths)}",
                remote=store.remote.safe_url,
                paths=tuple(paths),
            )
        merged = index.write_tree(store.repo)
    return _write(
        store,
        author=author,
        committer=author,
        message=message,
        tree=merged,
        parents=[ours_commit.id, theirs_commit.id],
        sign=sign,
    )


def apply_change(
    store: Store, *, base: str | None, head: str, onto: str, parts: Sequence[Sequence[str]]
) -> str:
    """The tree of `onto` with the change `base` -> `head` below the directories `parts`.

    A three-way merge of trees limited to `parts`; `base` None is the empty
    tree. Returns the new tree's sha; MergeConflict naming the conflicting paths.
    """
    target = commit(store, onto)
    repo = store.repo
    with translated(store.remote):
        sides = []
        for rev in (base, head):
            source = commit(store, rev).tree if rev is not None else None
            side = target.tree
            for where in parts:
                sub = subtree(repo, source, where) if source is not None else None
                side = tree(repo, replace_subtree(repo, side, where, sub))
            sides.append(side)
        # No rename detection: a delivery that replaces one file by a similar one
        # must not conflict where the target never had the old file.
        index = repo.merge_trees(sides[0], target.tree, sides[1], flags=pygit2.enums.MergeFlag(0))
        found = _conflicts(index)
        if found is not None:
            raise MergeConflict(
                f"the change {(base or 'root')[:12]}..{head[:12]} does not apply on "
                f"{onto[:12]}; conflicts in: {', '.join(found)}",
                remote=store.remote.safe_url,
                paths=tuple(found),
            )
        return str(index.write_tree(repo))
