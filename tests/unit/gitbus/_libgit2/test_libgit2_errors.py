"""How a libgit2 failure becomes one of the project's GitErrors: the rule table, as plain values."""

from __future__ import annotations

import pytest

from orchestrator.errors import (
    AuthenticationFailed,
    GitError,
    PushRejected,
    RemoteUnreachable,
    RepositoryCorrupt,
)
from orchestrator.gitbus._libgit2.errors import classify, refused_for_good, translate
from orchestrator.gitbus._libgit2.remote import Remote

# (libgit2 message, not found, during a network operation) -> error class
CASES = [
    ("cannot push non-fastforwardable reference", False, True, PushRejected),
    ("failed to lock file 'refs/heads/dev.lock' for writing", False, False, PushRejected),
    ("authentication required but no callback set", False, True, AuthenticationFailed),
    (
        "Failed to authenticate SSH session: userauth-publickey refused",
        False,
        True,
        AuthenticationFailed,
    ),
    ("unexpected http status code: 401", False, True, AuthenticationFailed),
    ("object not found - no match for id (deadbeef)", False, False, RepositoryCorrupt),
    ("reference 'refs/heads/x' not found", True, False, RepositoryCorrupt),
    ("failed to parse loose object: invalid header", False, True, RepositoryCorrupt),
    ("failed to connect to 127.0.0.1: Connection refused", False, True, RemoteUnreachable),
    ("could not resolve host: git.example.invalid", False, True, RemoteUnreachable),
    ("early EOF", False, True, RemoteUnreachable),
    ("unsupported URL protocol", False, True, RemoteUnreachable),
    # Only a failure while talking to the remote is the remote's fault.
    ("failed to connect to 127.0.0.1: Connection refused", False, False, GitError),
    ("timed out", False, False, GitError),
    ("something libgit2 has never said", False, True, GitError),
]


@pytest.mark.parametrize(("message", "not_found", "network", "expected"), CASES)
def test_classification_table(
    message: str, not_found: bool, network: bool, expected: type[GitError]
) -> None:
    assert classify(message, not_found=not_found, network=network) is expected


def test_rules_apply_in_order() -> None:
    # A refused lock mentions "permission denied" too; the lost race wins, so it is retried.
    assert classify("failed to lock: permission denied", not_found=False, network=True) is (
        PushRejected
    )
    # Credentials before corruption: a 403 on a packfile request is a refusal.
    assert classify("403 while fetching packfile", not_found=False, network=True) is (
        AuthenticationFailed
    )
    # Not found with an auth word is an auth failure, not a corrupt cache.
    assert classify("credentials not found", not_found=True, network=False) is (
        AuthenticationFailed
    )


@pytest.mark.parametrize(
    ("message", "for_good"),
    [
        ("pre-receive hook declined", True),
        ("deny updating a hidden ref", True),
        ("refusing to update checked out branch", True),
        ("protected branch hook declined", True),
        ("You are not allowed to push code to protected branches", True),
        ("stale info", False),
        ("fetch first", False),
        ("failed to update ref", False),
    ],
)
def test_refusals_a_retry_cannot_change(message: str, for_good: bool) -> None:
    assert refused_for_good(message) is for_good


def test_translation_redacts_and_names_the_safe_url() -> None:
    remote = Remote(
        url="https://agent:s3cret@git.example.com/r.git",
        safe_url="https://git.example.com/r.git",
        redact=lambda text: text.replace("s3cret", "***"),
    )
    error = translate(
        OSError("failed to connect with s3cret: connection refused"),
        remote=remote,
        callbacks=None,
    )
    assert type(error) is GitError  # not a network operation
    assert error.remote == "https://git.example.com/r.git"
    assert "s3cret" not in str(error)
    assert "***" in str(error)
    missing = translate(KeyError("no such thing"), remote=remote, callbacks=None)
    assert type(missing) is RepositoryCorrupt
