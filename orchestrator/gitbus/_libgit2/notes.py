"""Notes: reading one note or all of a notes ref, and writing the next notes commit.

A notes commit is built on a scratch ref, so the mirrored notes ref moves only
when the push of that commit succeeded.
"""

from __future__ import annotations

import uuid

import pygit2

from orchestrator.gitbus._libgit2.errors import translated
from orchestrator.gitbus._libgit2.objects import FILE_MODES, TREE, blob, check_size, tree
from orchestrator.gitbus._libgit2.people import Stamp, signature
from orchestrator.gitbus._libgit2.read import commit
from orchestrator.gitbus._libgit2.store import Store

_SCRATCH = "refs/orchestrator/scratch/"


def note_text(store: Store, notes_commit: str, annotated: str) -> str | None:
    """The note on `annotated` in the notes tree of `notes_commit`, fan-out or flat."""
    with translated(store.remote):
        current = commit(store, notes_commit).tree
        rest = annotated
        while True:
            if rest in current:
                entry = current[rest]
                if entry.filemode not in FILE_MODES:
                    return None
                check_size(store, entry.id, what=f"note on {annotated}")
                return blob(store.repo, entry.id).decode("utf-8", "replace")
            fan = rest[:2]
            if len(rest) <= 2 or fan not in current:
                return None
            if current[fan].filemode != TREE:
                return None
            current, rest = tree(store.repo, current[fan].id), rest[2:]


def list_notes(store: Store, ref: str) -> dict[str, str]:
    """Every note under the notes ref `ref`, by annotated commit."""
    with translated(store.remote):
        return {
            str(note.annotated_id): note.message
            for note in store.repo.notes(ref)  # type: ignore[call-arg]
        }


def notes_commit(
    store: Store, *, parent: str | None, annotated: str, text: str, author: Stamp
) -> str:
    """The notes commit on `parent` (None: the first) that sets the note on `annotated`."""
    repo = store.repo
    scratch = f"{_SCRATCH}{uuid.uuid4().hex}"
    with translated(store.remote):
        try:
            if parent is not None:
                repo.references.create(scratch, pygit2.Oid(hex=parent), force=True)
            sig = signature(author)
            repo.create_note(text, sig, sig, annotated, scratch, True)
            return str(repo.references[scratch].target)
        finally:
            if repo.references.get(scratch) is not None:
                repo.references.delete(scratch)
