"""The cache clone as the bus sees it: poll, read, commit, compare-and-swap, notes.

One `CacheRepo` is a bare local mirror of the watched refs of one remote.
Its refs are never written except by a fetch or right after our own push
succeeded, so a poll is "list the remote's heads, compare with ours" and a
fetch touches only refs that moved. The libgit2 operations live in
`orchestrator.gitbus._libgit2`, one per module; this class adds the bus's
rules on top: which refs are mirrored, object ids checked before use,
trailers in every message, signing, retrying a lost compare-and-swap (see
docs/protocol.md, "Pushing") and merging notes so no writer drops another's
entries. Every failure leaves as one of the project's GitError subclasses,
with the remote URL stripped of credentials.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from orchestrator.errors import (
    BranchNotFound,
    GitError,
    PushRefused,
    PushRejected,
    PushRetriesExhausted,
    UnsignedCommit,
)
from orchestrator.gitbus import protocol
from orchestrator.gitbus._libgit2 import fetch, notes, push, read, write
from orchestrator.gitbus._libgit2.errors import translated
from orchestrator.gitbus._libgit2.paths import safe_parts
from orchestrator.gitbus._libgit2.people import Person
from orchestrator.gitbus._libgit2.store import Store, delete_refs, local_refs, local_tip, open_store
from orchestrator.gitbus.access import remote_for
from orchestrator.gitbus.auth import Auth
from orchestrator.gitbus.limits import ReadLimits
from orchestrator.gitbus.protocol import Identity, NoteDocument, NoteEntry
from orchestrator.gitbus.results import CommitInfo, PollResult, PushResult, RefChange
from orchestrator.gitbus.retry import LostRace, RetryPolicy
from orchestrator.gitbus.signing import Signer, VerifiedSignature, Verifier
from orchestrator.gitbus.trailers import Trailer, format_message, parse_trailers

__all__ = [
    "CacheRepo",
    "CommitInfo",
    "PollResult",
    "PushResult",
    "RefChange",
]

# The refs the cache mirrors: protocol branches and every notes ref.
_MIRRORED = (protocol.BRANCH_PREFIX, "refs/notes/")
log = logging.getLogger(__name__)


def _rev(rev: str) -> str:
    """A full ref name as it is, or a sha checked to be a full object id."""
    return rev if rev.startswith("refs/") else protocol.check_sha(rev)


def _identity(person: Person) -> Identity:
    return Identity(person.name, person.email, person.when)


class CacheRepo:
    """A bare cache clone of one remote: poll, read, commit, push, notes."""

    def __init__(self, store: Store) -> None:
        """Use `CacheRepo.open`; this only wires an already opened cache clone."""
        self._store = store
        self.limits = store.limits
        self.remote = store.remote.safe_url
        self.on_lost_race: LostRace | None = None  # the agent counts them; the bus has no metrics

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        remote_url: str,
        auth: Auth = None,
        limits: ReadLimits | None = None,
    ) -> CacheRepo:
        """Open the cache clone at `path`, creating an empty bare one if there is none.

        A cache that is not bare, is shallow, belongs to another remote or
        points at missing objects is refused as RepositoryCorrupt: it is a
        cache, delete it and a new one is fetched.
        """
        store = open_store(
            path,
            remote=remote_for(remote_url, auth),
            limits=limits or ReadLimits(),
            mirrored=_MIRRORED,
        )
        return cls(store)

    @property
    def path(self) -> Path:
        """Directory of the bare cache clone."""
        return self._store.path

    # --- polling and fetching ----------------------------------------------------

    def list_remote(self) -> dict[str, str]:
        """Branch and notes tips the remote advertises, without fetching any object."""
        return fetch.list_heads(self._store, prefixes=_MIRRORED)

    def local_tip(self, ref: str) -> str | None:
        """Where the cache's mirror of `ref` points (what the last poll or push saw)."""
        return local_tip(self._store, ref)

    def poll(self, watch: Sequence[str]) -> PollResult:
        """List the remote's heads; fetch only the watched refs that moved.

        "Nothing changed" costs one connection and one ref advertisement,
        independent of the repository's size. Refs deleted on the remote are
        deleted from the cache.
        """
        patterns = [protocol.check_watch_pattern(p) for p in watch]

        def watched(ref: str) -> bool:
            return any(protocol.ref_matches(p, ref) for p in patterns)

        def mirrored() -> dict[str, str]:
            return {r: s for r, s in local_refs(self._store, _MIRRORED).items() if watched(r)}

        remote = {r: s for r, s in self.list_remote().items() if watched(r)}
        local = mirrored()
        moved = sorted(r for r in remote if remote[r] != local.get(r))
        if moved:
            fetch.fetch(self._store, moved)
        delete_refs(self._store, sorted(set(local) - set(remote)))
        now = mirrored()
        changes = {
            ref: RefChange(old=local.get(ref), new=now.get(ref))
            for ref in sorted(set(local) | set(now))
            if local.get(ref) != now.get(ref)
        }
        return PollResult(tips=now, changes=changes)

    def fetch(self, refs: Sequence[str]) -> dict[str, str]:
        """Fetch exactly these refs; BranchNotFound if the remote lacks one."""
        remote = self.list_remote()
        missing = [ref for ref in refs if ref not in remote]
        if missing:
            raise BranchNotFound(f"no {', '.join(missing)} on the remote", remote=self.remote)
        stale = [ref for ref in refs if self.local_tip(ref) != remote[ref]]
        if stale:
            fetch.fetch(self._store, stale)
        return {ref: tip for ref in refs if (tip := self.local_tip(ref)) is not None}

    def refresh(self, ref: str) -> str | None:
        """Bring the mirror of one ref up to date; its tip, or None if the remote lacks it."""
        remote = self.list_remote().get(ref)
        if remote is None:
            delete_refs(self._store, [ref])
            return None
        if self.local_tip(ref) != remote:
            fetch.fetch(self._store, [ref])
        return self.local_tip(ref)

    # --- reading -----------------------------------------------------------------

    def resolve(self, rev: str) -> str:
        """Full sha of a commit given as a sha or a full ref name in the cache."""
        return str(read.commit(self._store, _rev(rev)).id)

    def read_files(self, rev: str, *, directory: str = "") -> dict[str, bytes]:
        """Files under `directory` at a commit, as {path relative to directory: bytes}.

        Read straight from the object database (no checkout). A symlink, a
        submodule, or an entry name that could leave the directory anywhere
        below it refuses the whole read with UnsafePath. A missing directory
        reads as no files. Every object's size is read from its header first:
        one over `limits.max_file_bytes`, or files together over
        `limits.max_revision_bytes`, refuse the read with ReadLimitExceeded
        before anything large is inflated.
        """
        rev = _rev(rev)
        read.commit(self._store, rev)  # a missing commit before an unsafe directory
        parts = safe_parts(directory, remote=self.remote)
        return read.read_files(self._store, rev, parts=parts)

    def commit_info(self, rev: str) -> CommitInfo:
        """Message, trailers, identities and signature presence of a commit."""
        raw = read.raw_commit(self._store, _rev(rev))
        return CommitInfo(
            sha=raw.sha,
            tree=raw.tree,
            parents=raw.parents,
            author=_identity(raw.author),
            committer=_identity(raw.committer),
            message=raw.message,
            trailers=tuple(parse_trailers(raw.message)),
            signed=raw.signed,
        )

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True if `ancestor` is `descendant` or one of its ancestors."""
        return read.is_ancestor(self._store, _rev(ancestor), _rev(descendant))

    def verify_commit(self, rev: str, *, verifier: Verifier) -> VerifiedSignature:
        """Who signed the commit; UnsignedCommit or UntrustedSignature if nobody we trust."""
        sha, signature, payload = read.gpg_signature(self._store, _rev(rev))
        if signature is None:
            raise UnsignedCommit(f"commit {sha} is not signed", remote=self.remote)
        try:
            return verifier.verify(payload=payload, signature=signature.decode())
        except GitError as exc:
            exc.remote = exc.remote or self.remote
            raise

    # --- writing commits ---------------------------------------------------------

    def create_commit(
        self,
        *,
        parent: str | None,
        subject: str,
        author: Identity,
        committer: Identity | None = None,
        body: str = "",
        trailers: Sequence[Trailer] = (),
        changes: Mapping[str, bytes | None] | None = None,
        base_tree: str | None = None,
        signer: Signer | None = None,
    ) -> str:
        """Write a commit object (no ref moves) and return its sha.

        The tree is `base_tree` (default: the parent's tree) with `changes`
        applied: path -> new content, or None to delete. Empty directories
        vanish. With a signer the signature goes into the `gpgsig` header,
        byte for byte as `git commit -S` writes it.
        """
        message = format_message(subject, body=body, trailers=trailers)
        base_sha = protocol.check_sha(base_tree) if base_tree is not None else None
        return write.create_commit(
            self._store,
            parent=self._written_on(parent) if parent is not None else None,
            message=message,
            author=author,
            committer=committer or author,
            changes=changes or {},
            base_tree=base_sha,
            sign=signer.sign if signer is not None else None,
        )

    def merge_commit(
        self,
        *,
        ours: str,
        theirs: str,
        subject: str,
        author: Identity,
        body: str = "",
        signer: Signer | None = None,
    ) -> str:
        """A merge commit of `theirs` into `ours` (as a pull request host makes one).

        Raises MergeConflict naming the conflicting paths; nothing is written then.
        With a signer the merge is signed like any other commit.
        """
        ours, theirs = _rev(ours), _rev(theirs)
        return write.merge_commit(
            self._store,
            ours=ours,
            theirs=theirs,
            message=format_message(subject, body=body),
            author=author,
            sign=signer.sign if signer is not None else None,
        )

    def apply_change(self, *, base: str | None, head: str, onto: str, paths: Sequence[str]) -> str:
        """The tree of `onto` with the change `base` -> `head` under `paths` merged in.

        A three-way merge of trees (as a cherry-pick of one first-parent change does),
        limited to `paths`: outside them `onto` stays as it is. `base` None is the
        empty tree (a root commit). Returns the new tree's sha; raises MergeConflict
        naming the conflicting paths when the change does not apply cleanly.
        """
        parts = [safe_parts(p, remote=self.remote) for p in paths]
        onto = _rev(onto)
        return write.apply_change(
            self._store,
            base=self._written_on(base) if base is not None else None,
            head=self._written_on(head),
            onto=onto,
            parts=parts,
        )

    def _written_on(self, rev: str) -> str:
        """`_rev` for the revisions a write builds on: a malformed one is a GitError there."""
        with translated(self._store.remote):
            return _rev(rev)

    # --- compare-and-swap pushes -------------------------------------------------

    def push(self, *, ref: str, expected: str | None, new: str) -> None:
        """Set `ref` on the remote to `new` only if it is still `expected` (None: absent).

        Raises PushRejected when the remote moved, refused, or `new` does not
        descend from `expected`. On success the cache's mirror of `ref` is `new`.
        """
        if expected is not None and not self.is_ancestor(expected, new):
            raise PushRejected(f"{new} does not descend from {expected}", remote=self.remote)
        push.compare_and_swap(self._store, ref=ref, expected=expected, new=new)

    def push_with_retry(
        self,
        *,
        ref: str,
        rebuild: Callable[[str | None], str | None],
        retry: RetryPolicy | None = None,
    ) -> PushResult:
        """Refresh `ref`, let `rebuild(tip)` make the commit to push on it, CAS-push, retry.

        `rebuild` gets the current remote tip (None if the ref is absent) and
        returns the commit to push, or None / the tip (or its tree) for "nothing
        to do": a replayed promotion is a no-op. A lost race is logged, told to
        `on_lost_race`, and retried on the new tip after a jittered, growing delay,
        at most `retry.attempts` times in all, then PushRetriesExhausted. A refusal
        retrying cannot change (PushRefused: a server hook, branch protection) is raised at once.
        """
        policy = retry or RetryPolicy()
        last: PushRejected | None = None
        attempts = 0
        for delay in policy.delays():
            if delay:
                time.sleep(delay)
            attempts += 1
            tip = self.refresh(ref)
            new = rebuild(tip)
            if new is None or new == tip or (tip is not None and self._same_tree(tip, new)):
                return PushResult(ref=ref, commit=tip, pushed=False, attempts=attempts)
            try:
                self.push(ref=ref, expected=tip, new=new)
            except PushRefused:
                raise  # a hook or a protection rule: the next attempt would meet it too
            except PushRejected as exc:
                last = exc
                if attempts < policy.attempts:
                    log.info("%s: compare-and-swap lost, retrying (%d): %s", ref, attempts, exc)
                    if self.on_lost_race is not None:
                        self.on_lost_race(ref, attempts)
                continue
            return PushResult(ref=ref, commit=new, pushed=True, attempts=attempts)
        raise PushRetriesExhausted(
            f"{ref}: compare-and-swap lost {attempts} times; last: {last}", remote=self.remote
        )

    def _same_tree(self, a: str, b: str) -> bool:
        return read.same_tree(self._store, _rev(a), _rev(b))

    # --- notes -------------------------------------------------------------------

    def read_note(self, *, env: str, commit: str) -> NoteDocument | None:
        """The note `env` wrote on `commit`, as the cache last saw it (poll to refresh)."""
        ref = protocol.notes_ref(env)
        tip = self.local_tip(ref)
        if tip is None:
            return None
        text = notes.note_text(self._store, tip, protocol.check_sha(commit))
        return protocol.parse_note(text) if text is not None else None

    def list_notes(self, *, env: str) -> dict[str, NoteDocument]:
        """Every note of `env` in the cache, by annotated commit."""
        ref = protocol.notes_ref(env)
        if self.local_tip(ref) is None:
            return {}
        texts = notes.list_notes(self._store, ref)
        return {commit: protocol.parse_note(text) for commit, text in texts.items()}

    def add_note(
        self,
        *,
        env: str,
        commit: str,
        entries: Sequence[NoteEntry],
        author: Identity,
        retry: RetryPolicy | None = None,
    ) -> PushResult:
        """Merge entries into `env`'s note on `commit` and CAS-push the notes ref.

        Built on the freshest notes tip every attempt: notes on other commits
        stay, the existing note on this commit is merged (union of entries),
        so concurrent writers never drop each other's entries.
        """
        ref = protocol.notes_ref(env)
        target = protocol.check_sha(commit)
        addition = NoteDocument.of(entries)

        def rebuild(tip: str | None) -> str | None:
            current_text = notes.note_text(self._store, tip, target) if tip is not None else None
            current = protocol.parse_note(current_text) if current_text is not None else None
            merged = protocol.merge_notes(current or NoteDocument(), addition)
            if current is not None and merged == current:
                return tip
            return notes.notes_commit(
                self._store, parent=tip, annotated=target, text=merged.render(), author=author
            )

        return self.push_with_retry(ref=ref, rebuild=rebuild, retry=retry)
