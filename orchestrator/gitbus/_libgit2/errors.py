"""Every pygit2 or libgit2 failure leaves the package as one of the project's GitErrors.

What can be told from the failure's type comes first. Our own callbacks raise
the project's errors themselves (a refused login, a lost compare-and-swap), and
pygit2 hands them back unchanged; a refused host key is recorded by the
certificate callback; and pygit2 turns libgit2's GIT_ENOTFOUND into KeyError.
Everything else reaches Python as a `pygit2.GitError`, OSError or ValueError
carrying only libgit2's message: pygit2 keeps neither the error code
(GIT_EAUTH, GIT_ENONFASTFORWARD, GIT_ELOCKED, ...) nor the error class
(network, SSH, HTTP; only system errors become OSError, and those cover a
refused connection and a missing file alike). So the rest is told by the words
of the message, in the fixed order of `RULES`; a message no rule matches is a
plain GitError.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pygit2

from orchestrator.errors import (
    AuthenticationFailed,
    GitError,
    OrchestratorError,
    PushRejected,
    RemoteUnreachable,
    RepositoryCorrupt,
)
from orchestrator.gitbus._libgit2.callbacks import Callbacks
from orchestrator.gitbus._libgit2.remote import Remote

_REJECT_MARKERS = ("non-fastforward", "not present locally", "failed to lock", "locked")
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


@dataclass(frozen=True, slots=True)
class Rule:
    """A failure is `error` if libgit2 reported not-found (when `not_found`) or a marker matches.

    `network_only` rules apply only to failures of an operation that talked
    to the remote: a local failure that mentions a timeout is not the remote's.
    """

    error: type[GitError]
    markers: tuple[str, ...]
    not_found: bool = False
    network_only: bool = False


RULES = (
    Rule(PushRejected, _REJECT_MARKERS),
    Rule(AuthenticationFailed, _AUTH_MARKERS),
    Rule(RepositoryCorrupt, _CORRUPT_MARKERS, not_found=True),
    Rule(RemoteUnreachable, _UNREACHABLE_MARKERS, network_only=True),
)


def classify(message: str, *, not_found: bool, network: bool) -> type[GitError]:
    """The GitError class for a libgit2 failure: the first rule that applies, else GitError."""
    low = message.lower()
    for rule in RULES:
        if rule.network_only and not network:
            continue
        if (rule.not_found and not_found) or any(m in low for m in rule.markers):
            return rule.error
    return GitError


def refused_for_good(message: str) -> bool:
    """True if a server's refusal of a ref update would meet a retry too (a hook, a protection)."""
    low = message.lower()
    return any(marker in low for marker in _REFUSED_MARKERS)


def translate(exc: BaseException, *, remote: Remote, callbacks: Callbacks | None) -> GitError:
    """The project's error for a failure; `callbacks` given for network operations."""
    message = remote.redact(str(exc) or type(exc).__name__)
    if callbacks is not None and callbacks.host_key_error:
        return AuthenticationFailed(callbacks.host_key_error, remote=remote.safe_url)
    kind = classify(message, not_found=isinstance(exc, KeyError), network=callbacks is not None)
    return kind(message, remote=remote.safe_url)


@contextmanager
def translated(remote: Remote, callbacks: Callbacks | None = None) -> Iterator[None]:
    """Let the project's own errors through; turn pygit2's and the OS's into GitErrors."""
    try:
        yield
    except OrchestratorError:
        raise
    except (pygit2.GitError, KeyError, ValueError, OSError) as exc:
        raise translate(exc, remote=remote, callbacks=callbacks) from None
