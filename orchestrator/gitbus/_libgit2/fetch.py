"""Asking the remote: its advertised heads (ls-remote), and fetching chosen refs.

A poll is one ref advertisement, independent of the repository's size; a
fetch asks for exactly the refs that moved, never prunes, and never leaves the
cache shallow.
"""

from __future__ import annotations

from collections.abc import Sequence

import pygit2

from orchestrator.errors import RemoteUnreachable, RepositoryCorrupt
from orchestrator.gitbus._libgit2.callbacks import Callbacks
from orchestrator.gitbus._libgit2.errors import translated
from orchestrator.gitbus._libgit2.store import Store


def list_heads(store: Store, *, prefixes: Sequence[str]) -> dict[str, str]:
    """Tips the remote advertises under `prefixes`, without fetching any object."""
    where = store.remote.local_path
    # libgit2 calls a missing path an "unsupported URL protocol".
    if where is not None and not where.is_dir():
        raise RemoteUnreachable(f"no repository at {where}", remote=store.remote.safe_url)
    callbacks = Callbacks(store.remote)
    with translated(store.remote, callbacks):
        heads = store.anonymous_remote().list_heads(callbacks=callbacks)
    return {
        head.name: str(head.oid)
        for head in heads
        if head.name and head.name.startswith(tuple(prefixes)) and not head.name.endswith("^{}")
    }


def fetch(store: Store, refs: Sequence[str]) -> None:
    """Mirror exactly these refs of the remote into the cache (forced, full depth)."""
    callbacks = Callbacks(store.remote)
    with translated(store.remote, callbacks):
        store.anonymous_remote().fetch(
            refspecs=[f"+{ref}:{ref}" for ref in refs],
            callbacks=callbacks,
            prune=pygit2.enums.FetchPrune.NO_PRUNE,
            depth=0,
        )
        if store.repo.is_shallow:
            raise RepositoryCorrupt("fetch left the cache shallow", remote=store.remote.safe_url)
