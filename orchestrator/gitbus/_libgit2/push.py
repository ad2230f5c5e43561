"""One compare-and-swap push: set a remote ref to `new` only if it is still `expected`.

Over the network the push carries the tip we built on as its expected old
value: libgit2's push_negotiation callback refuses to send if the server
advertises anything else, git's receive-pack refuses to update if the ref
moved meanwhile, and push_update_reference reports that refusal. libgit2's
own local transport updates refs without checking the old value, so pushes to
a path or file:// URL take the ref lock in the target repository themselves.
On success the cache's own copy of the ref moves to `new`.
"""

from __future__ import annotations

from pathlib import Path

import pygit2

from orchestrator.errors import PushRefused, PushRejected, RemoteUnreachable
from orchestrator.gitbus._libgit2.callbacks import Callbacks
from orchestrator.gitbus._libgit2.errors import refused_for_good, translated
from orchestrator.gitbus._libgit2.store import Store


def compare_and_swap(store: Store, *, ref: str, expected: str | None, new: str) -> None:
    """Push `new` to `ref` if the remote's `ref` is `expected` (None: absent).

    PushRejected when the remote moved or refused; PushRefused when it refused
    for a reason a retry cannot change (a hook, branch protection).
    """
    target = store.remote.local_path
    if target is not None:
        _push_local(store, target, ref=ref, expected=expected, new=new)
    else:
        _push_network(store, ref=ref, expected=expected, new=new)
    with translated(store.remote):
        store.repo.references.create(ref, pygit2.Oid(hex=new), force=True)


def _push_network(store: Store, *, ref: str, expected: str | None, new: str) -> None:
    callbacks = Callbacks(store.remote, expected={ref: expected})
    with translated(store.remote, callbacks):
        store.anonymous_remote().push([f"{new}:{ref}"], callbacks=callbacks)
    if callbacks.rejections:
        detail = "; ".join(f"{r}: {m}" for r, m in sorted(callbacks.rejections.items()))
        if any(refused_for_good(m) for m in callbacks.rejections.values()):
            raise PushRefused(f"remote refused {detail}", remote=store.remote.safe_url)
        raise PushRejected(f"remote refused {detail}", remote=store.remote.safe_url)


def _push_local(store: Store, path: Path, *, ref: str, expected: str | None, new: str) -> None:
    safe = store.remote.safe_url
    with translated(store.remote):
        try:
            target = pygit2.Repository(str(path), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
        except pygit2.GitError as exc:
            raise RemoteUnreachable(f"no repository at {safe}: {exc}", remote=safe) from None
        _copy_objects(source=store.repo, target=target, start=pygit2.Oid(hex=new))
        with target.transaction() as txn:
            try:
                txn.lock_ref(ref)
            except pygit2.GitError as exc:
                raise PushRejected(f"{ref} is locked: {exc}", remote=safe) from None
            current = target.references.get(ref)
            actual = str(current.target) if current is not None else None
            if actual != expected:
                raise PushRejected(
                    f"{ref} is at {actual or 'nothing'}, expected {expected or 'nothing'}",
                    remote=safe,
                )
            txn.set_target(ref, new, message=f"orchestrator: push {new}")


def _copy_objects(
    *, source: pygit2.Repository, target: pygit2.Repository, start: pygit2.Oid
) -> None:
    """Write every object reachable from `start` that the target lacks, children first.

    Children-first keeps the target sound even if we stop half-way: it never
    holds an object whose references it lacks, so "the target has it" can stop
    the walk.
    """
    order: list[pygit2.Oid] = []
    seen: set[pygit2.Oid] = set()
    stack: list[tuple[pygit2.Oid, bool]] = [(start, False)]
    while stack:
        oid, expanded = stack.pop()
        if expanded:
            order.append(oid)
            continue
        if oid in seen or oid in target.odb:
            continue
        seen.add(oid)
        stack.append((oid, True))
        obj: object = source[oid]
        if isinstance(obj, pygit2.Commit):
            stack.extend((child, False) for child in (obj.tree_id, *obj.parent_ids))
        elif isinstance(obj, pygit2.Tree):
            stack.extend((e.id, False) for e in obj if e.filemode != pygit2.enums.FileMode.COMMIT)
    for oid in order:
        obj_type, data = source.odb.read(oid)
        target.odb.write(obj_type, data)
