"""Building trees: applying nested changes, and swapping one directory for another."""

from __future__ import annotations

from collections.abc import Sequence

import pygit2

from orchestrator.gitbus._libgit2.objects import FILE, TREE, tree
from orchestrator.gitbus._libgit2.paths import TreeChange


def apply_changes(
    repo: pygit2.Repository, *, base: pygit2.Tree | None, change: TreeChange
) -> pygit2.Oid:
    """`base` (None: empty) with `change` written in; directories left empty vanish."""
    builder = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
    for name, content in change.files.items():
        if content is None:
            if builder.get(name) is not None:
                builder.remove(name)
        else:
            builder.insert(name, repo.create_blob(content), FILE)
    for name, sub in change.dirs.items():
        existing = builder.get(name)
        sub_base = None
        if existing is not None and existing.filemode == TREE:
            sub_base = tree(repo, existing.id)
        oid = apply_changes(repo, base=sub_base, change=sub)
        if len(tree(repo, oid)) == 0:
            if existing is not None:
                builder.remove(name)
        else:
            builder.insert(name, oid, TREE)
    return builder.write()


def subtree(repo: pygit2.Repository, top: pygit2.Tree, parts: Sequence[str]) -> pygit2.Oid | None:
    """The tree at `parts` below `top`, or None where there is none."""
    current = top
    for part in parts:
        if part not in current:
            return None
        entry = current[part]
        if entry.filemode != TREE:
            return None
        current = tree(repo, entry.id)
    return current.id


def replace_subtree(
    repo: pygit2.Repository, top: pygit2.Tree, parts: Sequence[str], sub: pygit2.Oid | None
) -> pygit2.Oid:
    """`top` with the directory at `parts` replaced by `sub` (None: removed)."""
    if not parts:
        return sub if sub is not None else repo.TreeBuilder().write()
    builder = repo.TreeBuilder(top)
    name = parts[0]
    existing = builder.get(name)
    below: pygit2.Tree | None = None
    if existing is not None and existing.filemode == TREE:
        below = tree(repo, existing.id)
    if len(parts) == 1:
        new = sub
    else:
        empty = tree(repo, repo.TreeBuilder().write())
        new = replace_subtree(repo, below or empty, parts[1:], sub)
        if len(tree(repo, new)) == 0:
            new = None
    if existing is not None:
        builder.remove(name)
    if new is not None:
        builder.insert(name, new, TREE)
    return builder.write()
