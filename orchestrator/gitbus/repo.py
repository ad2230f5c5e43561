"""The cache clone: the only place in the project that talks to pygit2/libgit2.

One `CacheRepo` is a bare local mirror of the watched refs of one remote.
Its refs are never written except by a fetch or right after our own push
succeeded, so a poll is "list the remote's heads, compare with ours" and a
fetch touches only refs that moved. Every pygit2 or libgit2 failure leaves
this module as one of the project's GitError subclasses, with the remote URL
stripped of credentials.

Writes are compare-and-swap (see docs/protocol.md, "Pushing"): the push
carries the tip we built on as its expected old value; libgit2's
push_negotiation callback refuses to send if the server advertises anything
else, git's receive-pack refuses to update if the ref moved meanwhile, and
push_update_reference reports that refusal. libgit2's own local transport
updates refs without checking the old value, so pushes to a path or file://
URL take the ref lock in the target repository themselves.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn, cast
from urllib.parse import urlsplit

import pygit2

from orchestrator.errors import (
    AuthenticationFailed,
    BranchNotFound,
    GitError,
    MergeConflict,
    OrchestratorError,
    PushRefused,
    PushRejected,
    PushRetriesExhausted,
    ReadLimitExceeded,
    RemoteUnreachable,
    RepositoryCorrupt,
    UnsafePath,
    UnsignedCommit,
)
from orchestrator.gitbus import protocol
from orchestrator.gitbus.auth import (
    Auth,
    HostKeyStatus,
    HttpsAuth,
    SshAuth,
    check_host_key,
    scrub,
    strip_credentials,
)
from orchestrator.gitbus.limits import ReadLimits, file_over_limit, read_over_limit
from orchestrator.gitbus.protocol import Identity, NoteDocument, NoteEntry
from orchestrator.gitbus.retry import RetryPolicy
from orchestrator.gitbus.signing import Signer, VerifiedSignature, Verifier
from orchestrator.gitbus.trailers import Trailer, format_message, parse_trailers

__all__ = [
    "CacheRepo",
    "CommitInfo",
    "PollResult",
    "PushResult",
    "RefChange",
]

_ZERO = "0" * 40
_SCRATCH = "refs/orchestrator/scratch/"
_FILE = pygit2.enums.FileMode.BLOB
_CONNECT_TIMEOUT_MS = 15_000
_SERVER_TIMEOUT_MS = 60_000


# --- libgit2 host key hook ---------------------------------------------------------------
#
# pygit2 hands certificate_check callbacks `None` instead of the host key, and
# libgit2 only compares it with ~/.ssh/known_hosts. To check a configured
# known_hosts file we take over the cffi entry point pygit2 registered and read
# the SHA-256 fingerprint from libgit2's git_cert_hostkey (stable layout since
# libgit2 1.1: cert_type int, type flags int, md5[16], sha1[20], sha256[32]).
# Payloads that are not ours go to pygit2's original callback unchanged.

_PYGIT2_CERTIFICATE_CB = pygit2.callbacks._certificate_check_cb
_HOSTKEY_LAYOUT_BYTES = 76
_HOSTKEY_FLAGS = slice(4, 8)
_HOSTKEY_SHA256 = slice(44, 76)
_CERT_SSH_SHA256 = 1 << 2


@pygit2.ffi.def_extern(name="_certificate_check_cb")  # type: ignore[untyped-decorator]
def _certificate_check(cert: Any, valid: int, host: Any, handle: Any) -> int:
    payload = pygit2.ffi.from_handle(handle)
    if not isinstance(payload, _Callbacks):
        result: int = _PYGIT2_CERTIFICATE_CB(cert, valid, host, handle)
        return result
    try:
        return payload.check_certificate(cert, bool(valid), pygit2.ffi.string(host).decode())
    except BaseException as exc:  # noqa: BLE001 - nothing may unwind into C
        payload.host_key_error = f"host key check failed: {type(exc).__name__}"
        return int(pygit2.C.GIT_ECERTIFICATE)


# --- plain results -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefChange:
    """A watched ref moved: None for `old` means new, None for `new` means deleted."""

    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class PollResult:
    """The watched refs after a poll, and which of them moved since the last one."""

    tips: Mapping[str, str]
    changes: Mapping[str, RefChange]

    @property
    def changed(self) -> bool:
        """True if any watched ref moved, appeared or disappeared."""
        return bool(self.changes)


@dataclass(frozen=True, slots=True)
class PushResult:
    """Outcome of a compare-and-swap write; `pushed` False means it was a no-op."""

    ref: str
    commit: str | None
    pushed: bool
    attempts: int


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """What a commit says, without its files."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Identity
    committer: Identity
    message: str
    trailers: tuple[Trailer, ...]
    signed: bool


# --- callbacks ---------------------------------------------------------------


class _Callbacks(pygit2.RemoteCallbacks):
    """Credentials, host key check and push reports for one network operation."""

    def __init__(
        self,
        *,
        auth: Auth,
        safe_url: str,
        host: str | None,
        port: int | None,
        expected: Mapping[str, str | None] | None = None,
    ) -> None:
        super().__init__()
        self._auth = auth
        self._safe_url = safe_url
        self._host = host
        self._port = port
        self._expected = dict(expected or {})
        self._credential_calls = 0
        self.host_key_error: str | None = None
        self.rejections: dict[str, str] = {}

    def credentials(
        self, url: str, username_from_url: str | None, allowed_types: int
    ) -> pygit2.Username | pygit2.UserPass | pygit2.Keypair | pygit2.KeypairFromMemory:
        allowed = pygit2.enums.CredentialType(allowed_types)
        auth = self._auth
        if isinstance(auth, SshAuth):
            user = username_from_url or auth.username
            if allowed == pygit2.enums.CredentialType.USERNAME:
                return pygit2.Username(user)
            self._count_attempt()
            passphrase = auth.passphrase.reveal() if auth.passphrase is not None else ""
            if auth.private_key is not None:
                if not allowed & pygit2.enums.CredentialType.SSH_MEMORY:
                    self._fail("this libgit2 cannot use an in-memory SSH key")
                return pygit2.KeypairFromMemory(user, None, auth.private_key.reveal(), passphrase)
            if allowed & pygit2.enums.CredentialType.SSH_KEY:
                public = str(auth.public_key_path) if auth.public_key_path else None
                return pygit2.Keypair(user, public, str(auth.private_key_path), passphrase)
        if isinstance(auth, HttpsAuth) and allowed & pygit2.enums.CredentialType.USERPASS_PLAINTEXT:
            self._count_attempt()
            return pygit2.UserPass(auth.username, auth.token.reveal())
        return self._fail("the remote asks for credentials that are not configured")

    def _count_attempt(self) -> None:
        # libgit2 asks again after a refused login; a second ask means refused.
        self._credential_calls += 1
        if self._credential_calls > 1:
            self._fail("the remote refused the configured credentials")

    def _fail(self, message: str) -> NoReturn:
        raise AuthenticationFailed(message, remote=self._safe_url)

    def check_certificate(self, cert: Any, valid: bool, host: str) -> int:
        """0 to go on, GIT_ECERTIFICATE to stop (libgit2's contract)."""
        cert_type = pygit2.ffi.cast("git_cert *", cert).cert_type
        if cert_type != pygit2.C.GIT_CERT_HOSTKEY_LIBSSH2:
            if valid:
                return 0
            self.host_key_error = "TLS certificate is not valid"
            return int(pygit2.C.GIT_ECERTIFICATE)
        auth = self._auth
        if isinstance(auth, SshAuth) and not auth.check_host_key:
            return 0
        raw = bytes(
            pygit2.ffi.buffer(pygit2.ffi.cast("unsigned char *", cert), _HOSTKEY_LAYOUT_BYTES)
        )
        flags = int.from_bytes(raw[_HOSTKEY_FLAGS], "little")
        if not flags & _CERT_SSH_SHA256:
            self.host_key_error = "libgit2 gave no SHA-256 host key fingerprint"
            return int(pygit2.C.GIT_ECERTIFICATE)
        known_hosts = (
            auth.known_hosts_file()
            if isinstance(auth, SshAuth)
            else Path.home() / ".ssh" / "known_hosts"
        )
        try:
            text = known_hosts.read_text(errors="replace")
        except OSError:
            text = ""
        status = check_host_key(
            text, host=self._host or host, port=self._port, key_sha256=raw[_HOSTKEY_SHA256]
        )
        if status is HostKeyStatus.TRUSTED:
            return 0
        self.host_key_error = f"{status.value} for {host} (checked against {known_hosts})"
        return int(pygit2.C.GIT_ECERTIFICATE)

    def push_negotiation(self, updates: list[pygit2.remotes.PushUpdate]) -> None:
        for update in updates:
            expected = self._expected.get(update.dst_refname, _ZERO) or _ZERO
            if str(update.src) != expected and str(update.src) != str(update.dst):
                raise PushRejected(
                    f"{update.dst_refname} is at {update.src}, expected {expected}",
                    remote=self._safe_url,
                )

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message is not None:
            self.rejections[refname] = message


# --- error translation -------------------------------------------------------

_AUTH_MARKERS = (
    "authentication",
    "authenticate",
    "publickey",
    "credentials",
    "401",
    "403",
    "unauthorized",
    "permission denied",
    "hostkey",
)
_UNREACHABLE_MARKERS = (
    "failed to connect",
    "connection refused",
    "could not resolve",
    "failed to resolve",
    "name or service not known",
    "timed out",
    "timeout",
    "connection reset",
    "network is unreachable",
    "no route to host",
    "early eof",
    "unexpected eof",
    "failed to start ssh session",
    "could not read from remote",
    "not exported",
    "no such repository",
    "unsupported url protocol",
    "does not appear to be a git repository",
    "repository not found",
    "could not find repository",
    "failed to send request",
    "unexpected http status",
    "unexpected disconnect",
    "broken pipe",
    "failed to receive",
)
_REJECT_MARKERS = ("non-fastforward", "not present locally", "failed to lock", "locked")
# What a server says when it will not take the update whatever the old value is:
# receive-pack's "pre-receive hook declined" / "hook declined", "deny updating a
# hidden ref", "refusing to update checked out branch", and the wording of hosted
# servers' branch protection ("protected branch", "permission denied", "not allowed").
# Anything else (stale info, fetch first, failed to update or lock the ref) is
# taken for a lost compare-and-swap and retried.
_REFUSED_MARKERS = (
    "declined",
    "deny",
    "denied",
    "refusing",
    "protected",
    "not allowed",
    "forbidden",
)
_CORRUPT_MARKERS = (
    "corrupt",
    "object not found",
    "failed to parse",
    "inflate",
    "packfile",
    "bad object",
    "invalid object",
    "missing object",
    "shallow",
    "truncated",
)


def _refused_for_good(message: str) -> bool:
    low = message.lower()
    return any(marker in low for marker in _REFUSED_MARKERS)


class CacheRepo:
    """A bare cache clone of one remote: poll, read, commit, push, notes."""

    def __init__(
        self,
        repository: pygit2.Repository,
        *,
        remote_url: str,
        auth: Auth,
        limits: ReadLimits | None = None,
    ) -> None:
        """Use `CacheRepo.open`; this only wires an already opened repository."""
        self._repo = repository
        self.limits = limits or ReadLimits()
        self._url = remote_url
        self._auth = auth
        self.remote = strip_credentials(remote_url)
        self._local_path = _local_path(remote_url)
        host, port = _host_port(remote_url)
        self._host = host
        self._port = port

    # --- opening -----------------------------------------------------------------

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
        _configure_libgit2()
        safe = strip_credentials(remote_url)
        try:
            if not path.exists() or (path.is_dir() and not any(path.iterdir())):
                repository = pygit2.init_repository(str(path), bare=True)
                repository.config["orchestrator.remote"] = safe
            else:
                repository = pygit2.Repository(str(path), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
        except (pygit2.GitError, OSError) as exc:
            raise RepositoryCorrupt(
                f"cache clone {path} cannot be opened: {scrub(str(exc), url=remote_url)}",
                remote=safe,
            ) from None
        cache = cls(repository, remote_url=remote_url, auth=auth, limits=limits)
        cache._check_sound(path)
        return cache

    def _check_sound(self, path: Path) -> None:
        repo = self._repo
        with self._translated():
            if repo.is_shallow:
                raise RepositoryCorrupt(f"cache clone {path} is shallow", remote=self.remote)
            if not repo.is_bare:
                raise RepositoryCorrupt(f"cache clone {path} is not bare", remote=self.remote)
            config = repo.config
            key = "orchestrator.remote"
            recorded = config[key] if key in config else None  # noqa: SIM401 - no Config.get
            if recorded != self.remote:
                raise RepositoryCorrupt(
                    f"cache clone {path} belongs to {recorded!r}", remote=self.remote
                )
            for ref, sha in self._local_refs().items():
                if pygit2.Oid(hex=sha) not in repo.odb:
                    raise RepositoryCorrupt(
                        f"cache clone {path}: {ref} points at missing object {sha}",
                        remote=self.remote,
                    )

    @property
    def path(self) -> Path:
        """Directory of the bare cache clone."""
        return Path(self._repo.path)

    # --- error handling ----------------------------------------------------------

    @contextmanager
    def _translated(self, callbacks: _Callbacks | None = None) -> Iterator[None]:
        try:
            yield
        except OrchestratorError:
            raise
        except (pygit2.GitError, KeyError, ValueError, OSError) as exc:
            raise self._translate(exc, callbacks) from None

    def _translate(self, exc: BaseException, callbacks: _Callbacks | None) -> GitError:
        secrets = []
        if isinstance(self._auth, SshAuth):
            secrets = [self._auth.passphrase, self._auth.private_key]
        elif isinstance(self._auth, HttpsAuth):
            secrets = [self._auth.token]
        message = scrub(str(exc) or type(exc).__name__, url=self._url, secrets=secrets)
        if callbacks is not None and callbacks.host_key_error:
            return AuthenticationFailed(callbacks.host_key_error, remote=self.remote)
        low = message.lower()
        if any(m in low for m in _REJECT_MARKERS):
            return PushRejected(message, remote=self.remote)
        if any(m in low for m in _AUTH_MARKERS):
            return AuthenticationFailed(message, remote=self.remote)
        if isinstance(exc, KeyError) or any(m in low for m in _CORRUPT_MARKERS):
            return RepositoryCorrupt(message, remote=self.remote)
        if callbacks is not None and any(m in low for m in _UNREACHABLE_MARKERS):
            return RemoteUnreachable(message, remote=self.remote)
        return GitError(message, remote=self.remote)

    def _callbacks(self, expected: Mapping[str, str | None] | None = None) -> _Callbacks:
        return _Callbacks(
            auth=self._auth,
            safe_url=self.remote,
            host=self._host,
            port=self._port,
            expected=expected,
        )

    def _anonymous_remote(self) -> pygit2.Remote:
        # A fresh remote per operation: pygit2 reports a push rejection only on
        # a remote object that has not pushed before.
        return self._repo.remotes.create_anonymous(self._url)

    # --- polling and fetching ----------------------------------------------------

    def list_remote(self) -> dict[str, str]:
        """Branch and notes tips the remote advertises, without fetching any object."""
        self._check_local_remote()
        callbacks = self._callbacks()
        with self._translated(callbacks):
            heads = self._anonymous_remote().list_heads(callbacks=callbacks)
        return {
            head.name: str(head.oid)
            for head in heads
            if head.name
            and head.name.startswith((protocol.BRANCH_PREFIX, "refs/notes/"))
            and not head.name.endswith("^{}")
        }

    def _check_local_remote(self) -> None:
        # libgit2 calls a missing path an "unsupported URL protocol".
        if self._local_path is not None and not self._local_path.is_dir():
            raise RemoteUnreachable(f"no repository at {self._local_path}", remote=self.remote)

    def local_tip(self, ref: str) -> str | None:
        """Where the cache's mirror of `ref` points (what the last poll or push saw)."""
        with self._translated():
            reference = self._repo.references.get(ref)
            return str(reference.target) if reference is not None else None

    def _local_refs(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in self._repo.references:
            if name.startswith((protocol.BRANCH_PREFIX, "refs/notes/")):
                target = self._repo.references[name].target
                if isinstance(target, pygit2.Oid):
                    out[name] = str(target)
        return out

    def poll(self, watch: Sequence[str]) -> PollResult:
        """List the remote's heads; fetch only the watched refs that moved.

        "Nothing changed" costs one connection and one ref advertisement,
        independent of the repository's size. Refs deleted on the remote are
        deleted from the cache.
        """
        patterns = [protocol.check_watch_pattern(p) for p in watch]

        def watched(ref: str) -> bool:
            return any(protocol.ref_matches(p, ref) for p in patterns)

        remote = {r: s for r, s in self.list_remote().items() if watched(r)}
        with self._translated():
            local = {r: s for r, s in self._local_refs().items() if watched(r)}
        moved = sorted(r for r in remote if remote[r] != local.get(r))
        if moved:
            self._fetch(moved)
        with self._translated():
            for ref in set(local) - set(remote):
                self._repo.references.delete(ref)
            now = {r: s for r, s in self._local_refs().items() if watched(r)}
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
            self._fetch(stale)
        return {ref: tip for ref in refs if (tip := self.local_tip(ref)) is not None}

    def refresh(self, ref: str) -> str | None:
        """Bring the mirror of one ref up to date; its tip, or None if the remote lacks it."""
        remote = self.list_remote().get(ref)
        if remote is None:
            with self._translated():
                if self._repo.references.get(ref) is not None:
                    self._repo.references.delete(ref)
            return None
        if self.local_tip(ref) != remote:
            self._fetch([ref])
        return self.local_tip(ref)

    def _fetch(self, refs: Sequence[str]) -> None:
        callbacks = self._callbacks()
        with self._translated(callbacks):
            self._anonymous_remote().fetch(
                refspecs=[f"+{ref}:{ref}" for ref in refs],
                callbacks=callbacks,
                prune=pygit2.enums.FetchPrune.NO_PRUNE,
                depth=0,
            )
            if self._repo.is_shallow:
                raise RepositoryCorrupt("fetch left the cache shallow", remote=self.remote)

    # --- reading -----------------------------------------------------------------

    def _commit(self, rev: str) -> pygit2.Commit:
        sha = None if rev.startswith("refs/") else protocol.check_sha(rev)
        with self._translated():
            if sha is None:
                reference = self._repo.references.get(rev)
                if reference is None:
                    raise BranchNotFound(f"{rev} is not in the cache clone", remote=self.remote)
                oid = reference.target
            else:
                oid = pygit2.Oid(hex=sha)
            if oid not in self._repo.odb:
                raise BranchNotFound(f"commit {oid} is not in the cache clone", remote=self.remote)
            oid = pygit2.Oid(hex=str(oid))
            self._check_size(oid, what=f"commit {oid}")
            obj: object = self._repo[oid]
            if not isinstance(obj, pygit2.Commit):
                raise BranchNotFound(f"{rev} is not a commit", remote=self.remote)
            return obj

    def resolve(self, rev: str) -> str:
        """Full sha of a commit given as a sha or a full ref name in the cache."""
        return str(self._commit(rev).id)

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
        commit = self._commit(rev)
        parts = _safe_parts(directory, remote=self.remote)
        files: dict[str, bytes] = {}
        with self._translated():
            tree = self._tree(commit.tree_id, what="/")
            for depth, part in enumerate(parts):
                if part not in tree:
                    return files
                entry = tree[part]
                where = "/".join(parts[: depth + 1])
                if entry.filemode != pygit2.enums.FileMode.TREE:
                    raise UnsafePath(f"{where} is not a directory", remote=self.remote)
                tree = self._tree(entry.id, what=where)
            self._walk(tree, prefix="", base="/".join(parts), out=files, spent=[0])
        return files

    def _check_size(self, oid: pygit2.Oid, *, what: str, limit: int | None = None) -> int:
        """The object's size from its header; ReadLimitExceeded if over `limit`."""
        limit = limit or self.limits.max_file_bytes
        _, size = self._repo.odb.read_header(oid)
        if size > limit:
            raise ReadLimitExceeded(
                file_over_limit(size, limit),
                path=what,
                remote=self.remote,
            )
        return int(size)

    def _tree(self, oid: pygit2.Oid, *, what: str) -> pygit2.Tree:
        self._check_size(oid, what=what)
        return _tree(self._repo, oid)

    def _walk(
        self,
        tree: pygit2.Tree,
        *,
        prefix: str,
        base: str,
        out: dict[str, bytes],
        spent: list[int],
    ) -> None:
        for entry in tree:
            name = entry.name or ""
            path = f"{prefix}{name}"
            shown = f"{base}/{path}" if base else path
            if name in ("", ".", "..") or "/" in name or "\0" in name or "\\" in name:
                raise UnsafePath(f"tree entry {shown!r} leaves the directory", remote=self.remote)
            mode = entry.filemode
            if mode == pygit2.enums.FileMode.LINK:
                raise UnsafePath(f"{shown} is a symlink", remote=self.remote)
            if mode == pygit2.enums.FileMode.TREE:
                subtree = self._tree(entry.id, what=shown)
                self._walk(subtree, prefix=f"{path}/", base=base, out=out, spent=spent)
            elif mode in (pygit2.enums.FileMode.BLOB, pygit2.enums.FileMode.BLOB_EXECUTABLE):
                spent[0] += self._check_size(entry.id, what=shown)
                if spent[0] > self.limits.max_revision_bytes:
                    raise ReadLimitExceeded(
                        read_over_limit(spent[0], self.limits.max_revision_bytes),
                        path=shown,
                        remote=self.remote,
                    )
                out[path] = _blob(self._repo, entry.id)
            else:
                raise UnsafePath(f"{shown} is a submodule or unknown entry", remote=self.remote)

    def commit_info(self, rev: str) -> CommitInfo:
        """Message, trailers, identities and signature presence of a commit."""
        commit = self._commit(rev)
        with self._translated():
            signature, _ = commit.gpg_signature
            message = commit.message
            return CommitInfo(
                sha=str(commit.id),
                tree=str(commit.tree_id),
                parents=tuple(str(p) for p in commit.parent_ids),
                author=_identity(commit.author),
                committer=_identity(commit.committer),
                message=message,
                trailers=tuple(parse_trailers(message)),
                signed=signature is not None,
            )

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True if `ancestor` is `descendant` or one of its ancestors."""
        a, d = self._commit(ancestor).id, self._commit(descendant).id
        with self._translated():
            return a == d or bool(self._repo.descendant_of(d, a))

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
        change = _nest(changes or {})
        base_sha = protocol.check_sha(base_tree) if base_tree is not None else None
        with self._translated():
            parents = [self._commit(parent).id] if parent is not None else []
            base: pygit2.Tree | None = None
            if base_sha is not None:
                base = _tree(self._repo, pygit2.Oid(hex=base_sha))
            elif parent is not None:
                base = self._commit(parent).tree
            tree = _apply_changes(self._repo, base=base, change=change)
        return self._write_commit(
            author=author,
            committer=committer or author,
            message=message,
            tree=tree,
            parents=parents,
            signer=signer,
        )

    def _write_commit(
        self,
        *,
        author: Identity,
        committer: Identity,
        message: str,
        tree: pygit2.Oid,
        parents: Sequence[pygit2.Oid],
        signer: Signer | None,
    ) -> str:
        """The commit object, signed when there is a signer (the `gpgsig` header)."""
        with self._translated():
            author_sig, committer_sig = _signature(author), _signature(committer)
            if signer is None:
                oid = self._repo.create_commit(
                    None, author_sig, committer_sig, message, tree, list(parents)
                )
                return str(oid)
            content = cast(
                str,
                self._repo.create_commit_string(
                    author_sig, committer_sig, message, tree, list[str | pygit2.Oid](parents)
                ),
            )
        armored = signer.sign(content.encode())
        with self._translated():
            return str(self._repo.create_commit_with_signature(content, armored.rstrip("\n")))

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
        ours_commit, theirs_commit = self._commit(ours), self._commit(theirs)
        message = format_message(subject, body=body)
        with self._translated():
            index = self._repo.merge_commits(ours_commit, theirs_commit)
            if index.conflicts is not None:
                paths = sorted(
                    {entry.path for side in index.conflicts for entry in side if entry is not None}
                )
                raise MergeConflict(
                    f"merging {theirs[:12]} into {ours[:12]} conflicts in: {', '.join(paths)}",
                    remote=self.remote,
                    paths=tuple(paths),
                )
            tree = index.write_tree(self._repo)
        return self._write_commit(
            author=author,
            committer=author,
            message=message,
            tree=tree,
            parents=[ours_commit.id, theirs_commit.id],
            signer=signer,
        )

    def apply_change(self, *, base: str | None, head: str, onto: str, paths: Sequence[str]) -> str:
        """The tree of `onto` with the change `base` -> `head` under `paths` merged in.

        A three-way merge of trees (as a cherry-pick of one first-parent change does),
        limited to `paths`: outside them `onto` stays as it is. `base` None is the
        empty tree (a root commit). Returns the new tree's sha; raises MergeConflict
        naming the conflicting paths when the change does not apply cleanly.
        """
        parts = [_safe_parts(p, remote=self.remote) for p in paths]
        target = self._commit(onto)
        with self._translated():
            sides = []
            for rev in (base, head):
                source = self._commit(rev).tree if rev is not None else None
                tree = target.tree
                for where in parts:
                    sub = _subtree(self._repo, source, where) if source is not None else None
                    tree = _tree(self._repo, _replace_subtree(self._repo, tree, where, sub))
                sides.append(tree)
            # No rename detection: a delivery that replaces one file by a similar one
            # must not conflict where the target never had the old file.
            index = self._repo.merge_trees(
                sides[0], target.tree, sides[1], flags=pygit2.enums.MergeFlag(0)
            )
            if index.conflicts is not None:
                found = sorted(
                    {entry.path for side in index.conflicts for entry in side if entry is not None}
                )
                raise MergeConflict(
                    f"the change {(base or 'root')[:12]}..{head[:12]} does not apply on "
                    f"{onto[:12]}; conflicts in: {', '.join(found)}",
                    remote=self.remote,
                    paths=tuple(found),
                )
            return str(index.write_tree(self._repo))

    def verify_commit(self, rev: str, *, verifier: Verifier) -> VerifiedSignature:
        """Who signed the commit; UnsignedCommit or UntrustedSignature if nobody we trust."""
        commit = self._commit(rev)
        with self._translated():
            signature, payload = commit.gpg_signature
        if signature is None:
            raise UnsignedCommit(f"commit {commit.id} is not signed", remote=self.remote)
        try:
            return verifier.verify(payload=payload, signature=signature.decode())
        except GitError as exc:
            exc.remote = exc.remote or self.remote
            raise

    # --- compare-and-swap pushes -------------------------------------------------

    def push(self, *, ref: str, expected: str | None, new: str) -> None:
        """Set `ref` on the remote to `new` only if it is still `expected` (None: absent).

        Raises PushRejected when the remote moved, refused, or `new` does not
        descend from `expected`. On success the cache's mirror of `ref` is `new`.
        """
        if expected is not None and not self.is_ancestor(expected, new):
            raise PushRejected(f"{new} does not descend from {expected}", remote=self.remote)
        if self._local_path is not None:
            self._push_local(ref=ref, expected=expected, new=new)
        else:
            self._push_network(ref=ref, expected=expected, new=new)
        with self._translated():
            self._repo.references.create(ref, pygit2.Oid(hex=new), force=True)

    def _push_network(self, *, ref: str, expected: str | None, new: str) -> None:
        callbacks = self._callbacks(expected={ref: expected})
        with self._translated(callbacks):
            self._anonymous_remote().push([f"{new}:{ref}"], callbacks=callbacks)
        if callbacks.rejections:
            detail = "; ".join(f"{r}: {m}" for r, m in sorted(callbacks.rejections.items()))
            if any(_refused_for_good(m) for m in callbacks.rejections.values()):
                raise PushRefused(f"remote refused {detail}", remote=self.remote)
            raise PushRejected(f"remote refused {detail}", remote=self.remote)

    def _push_local(self, *, ref: str, expected: str | None, new: str) -> None:
        assert self._local_path is not None
        with self._translated():
            try:
                target = pygit2.Repository(
                    str(self._local_path), pygit2.enums.RepositoryOpenFlag.NO_SEARCH
                )
            except pygit2.GitError as exc:
                raise RemoteUnreachable(
                    f"no repository at {self.remote}: {exc}", remote=self.remote
                ) from None
            _copy_objects(source=self._repo, target=target, start=pygit2.Oid(hex=new))
            with target.transaction() as txn:
                try:
                    txn.lock_ref(ref)
                except pygit2.GitError as exc:
                    raise PushRejected(f"{ref} is locked: {exc}", remote=self.remote) from None
                current = target.references.get(ref)
                actual = str(current.target) if current is not None else None
                if actual != expected:
                    raise PushRejected(
                        f"{ref} is at {actual or 'nothing'}, expected {expected or 'nothing'}",
                        remote=self.remote,
                    )
                txn.set_target(ref, new, message=f"orchestrator: push {new}")

    def push_with_retry(
        self,
        *,
        ref: str,
        rebuild: Callable[[str | None], str | None],
        retry: RetryPolicy | None = None,
    ) -> PushResult:
        """Refresh `ref`, let `rebuild(tip)` make the commit to push on it, CAS-push, retry.

        `rebuild` gets the current remote tip (None if the ref is absent) and
        returns the commit to push, or None / the tip itself for "nothing to
        do". A commit whose tree equals the tip's tree is not pushed either,
        so a replayed promotion is a no-op. Losing the race sleeps a jittered,
        growing delay and rebuilds on the new tip, at most `retry.attempts`
        times, then raises PushRetriesExhausted. A refusal retrying cannot
        change (PushRefused: a server hook, branch protection) is raised at once.
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
                continue
            return PushResult(ref=ref, commit=new, pushed=True, attempts=attempts)
        raise PushRetriesExhausted(
            f"{ref}: compare-and-swap lost {attempts} times; last: {last}", remote=self.remote
        )

    def _same_tree(self, a: str, b: str) -> bool:
        return self._commit(a).tree_id == self._commit(b).tree_id

    # --- notes -------------------------------------------------------------------

    def read_note(self, *, env: str, commit: str) -> NoteDocument | None:
        """The note `env` wrote on `commit`, as the cache last saw it (poll to refresh)."""
        ref = protocol.notes_ref(env)
        tip = self.local_tip(ref)
        if tip is None:
            return None
        text = self._note_text(tip, protocol.check_sha(commit))
        return protocol.parse_note(text) if text is not None else None

    def list_notes(self, *, env: str) -> dict[str, NoteDocument]:
        """Every note of `env` in the cache, by annotated commit."""
        ref = protocol.notes_ref(env)
        if self.local_tip(ref) is None:
            return {}
        with self._translated():
            return {
                str(note.annotated_id): protocol.parse_note(note.message)
                for note in self._repo.notes(ref)  # type: ignore[call-arg]
            }

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
            current_text = self._note_text(tip, target) if tip is not None else None
            current = protocol.parse_note(current_text) if current_text is not None else None
            merged = protocol.merge_notes(current or NoteDocument(), addition)
            if current is not None and merged == current:
                return tip
            return self._notes_commit(
                parent=tip, commit=target, text=merged.render(), author=author
            )

        return self.push_with_retry(ref=ref, rebuild=rebuild, retry=retry)

    def _note_text(self, notes_commit: str, annotated: str) -> str | None:
        with self._translated():
            tree = self._commit(notes_commit).tree
            rest = annotated
            while True:
                if rest in tree:
                    entry = tree[rest]
                    if entry.filemode not in (_FILE, pygit2.enums.FileMode.BLOB_EXECUTABLE):
                        return None
                    self._check_size(entry.id, what=f"note on {annotated}")
                    return _blob(self._repo, entry.id).decode("utf-8", "replace")
                fan = rest[:2]
                if len(rest) <= 2 or fan not in tree:
                    return None
                if tree[fan].filemode != pygit2.enums.FileMode.TREE:
                    return None
                tree, rest = _tree(self._repo, tree[fan].id), rest[2:]

    def _notes_commit(self, *, parent: str | None, commit: str, text: str, author: Identity) -> str:
        scratch = f"{_SCRATCH}{uuid.uuid4().hex}"
        with self._translated():
            try:
                if parent is not None:
                    self._repo.references.create(scratch, pygit2.Oid(hex=parent), force=True)
                sig = _signature(author)
                self._repo.create_note(text, sig, sig, commit, scratch, True)
                return str(self._repo.references[scratch].target)
            finally:
                if self._repo.references.get(scratch) is not None:
                    self._repo.references.delete(scratch)


# --- helpers -----------------------------------------------------------------


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


def _local_path(url: str) -> Path | None:
    if url.startswith("file://"):
        return Path(url[len("file://") :])
    if "://" in url:
        return None
    head = url.split("/", 1)[0]
    if ":" in head:
        return None  # scp-like ssh: [user@]host:path
    return Path(url)


def _host_port(url: str) -> tuple[str | None, int | None]:
    if "://" in url:
        try:
            parts = urlsplit(url)
            return parts.hostname, parts.port
        except ValueError:
            return None, None
    if _local_path(url) is None:
        host = url.split(":", 1)[0].rsplit("@", 1)[-1]
        return host, None
    return None, None


def _safe_parts(directory: str, *, remote: str) -> list[str]:
    if directory in ("", "."):
        return []
    path = PurePosixPath(directory)
    parts = [p for p in path.parts if p != "."]
    if path.is_absolute() or ".." in parts or "\\" in directory or "\0" in directory:
        raise UnsafePath(f"directory {directory!r} leaves the repository", remote=remote)
    return parts


@dataclass
class _Dir:
    files: dict[str, bytes | None] = field(default_factory=dict)
    dirs: dict[str, _Dir] = field(default_factory=dict)


def _nest(changes: Mapping[str, bytes | None]) -> _Dir:
    root = _Dir()
    for path, content in changes.items():
        parts = path.split("/")
        if (
            not path
            or path.startswith("/")
            or any(p in ("", ".", "..") or "\0" in p or "\\" in p for p in parts)
            or any(p.lower() == ".git" for p in parts)
        ):
            raise ValueError(f"invalid path in tree change: {path!r}")
        node = root
        for part in parts[:-1]:
            if part in node.files:
                raise ValueError(f"{path!r} conflicts with a file change")
            node = node.dirs.setdefault(part, _Dir())
        if parts[-1] in node.dirs:
            raise ValueError(f"{path!r} conflicts with a directory change")
        node.files[parts[-1]] = content
    return root


def _apply_changes(
    repo: pygit2.Repository, *, base: pygit2.Tree | None, change: _Dir
) -> pygit2.Oid:
    builder = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
    for name, content in change.files.items():
        if content is None:
            if builder.get(name) is not None:
                builder.remove(name)
        else:
            builder.insert(name, repo.create_blob(content), _FILE)
    for name, sub in change.dirs.items():
        existing = builder.get(name)
        sub_base = None
        if existing is not None and existing.filemode == pygit2.enums.FileMode.TREE:
            sub_base = _tree(repo, existing.id)
        oid = _apply_changes(repo, base=sub_base, change=sub)
        if len(_tree(repo, oid)) == 0:
            if existing is not None:
                builder.remove(name)
        else:
            builder.insert(name, oid, pygit2.enums.FileMode.TREE)
    return builder.write()


def _subtree(repo: pygit2.Repository, tree: pygit2.Tree, parts: Sequence[str]) -> pygit2.Oid | None:
    """The tree at `parts` below `tree`, or None where there is none."""
    current = tree
    for part in parts:
        if part not in current:
            return None
        entry = current[part]
        if entry.filemode != pygit2.enums.FileMode.TREE:
            return None
        current = _tree(repo, entry.id)
    return current.id


def _replace_subtree(
    repo: pygit2.Repository, tree: pygit2.Tree, parts: Sequence[str], sub: pygit2.Oid | None
) -> pygit2.Oid:
    """`tree` with the directory at `parts` replaced by `sub` (None: removed)."""
    if not parts:
        return sub if sub is not None else repo.TreeBuilder().write()
    builder = repo.TreeBuilder(tree)
    name = parts[0]
    existing = builder.get(name)
    below: pygit2.Tree | None = None
    if existing is not None and existing.filemode == pygit2.enums.FileMode.TREE:
        below = _tree(repo, existing.id)
    if len(parts) == 1:
        new = sub
    else:
        empty = _tree(repo, repo.TreeBuilder().write())
        new = _replace_subtree(repo, below or empty, parts[1:], sub)
        if len(_tree(repo, new)) == 0:
            new = None
    if existing is not None:
        builder.remove(name)
    if new is not None:
        builder.insert(name, new, pygit2.enums.FileMode.TREE)
    return builder.write()


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


def _tree(repo: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Tree:
    obj: object = repo[oid]
    if not isinstance(obj, pygit2.Tree):
        raise RepositoryCorrupt(f"{oid} should be a tree")
    return obj


def _blob(repo: pygit2.Repository, oid: pygit2.Oid) -> bytes:
    obj: object = repo[oid]
    if not isinstance(obj, pygit2.Blob):
        raise RepositoryCorrupt(f"{oid} should be a blob")
    return bytes(obj.data)


def _signature(identity: Identity) -> pygit2.Signature:
    if identity.when is None:
        return pygit2.Signature(identity.name, identity.email)
    offset = identity.when.utcoffset() or timedelta(0)
    return pygit2.Signature(
        identity.name,
        identity.email,
        int(identity.when.timestamp()),
        int(offset.total_seconds() // 60),
    )


def _identity(sig: pygit2.Signature) -> Identity:
    tz = timezone(timedelta(minutes=sig.offset))
    return Identity(
        name=sig.name,
        email=sig.email,
        when=datetime.fromtimestamp(sig.time, UTC).astimezone(tz),
    )
