"""The Git side: remotes, credentials, reads under limits, pushes, signatures."""

from __future__ import annotations

from orchestrator.errors.base import OrchestratorError


class GitError(OrchestratorError):
    """A Git operation failed. `remote` never carries credentials."""

    def __init__(self, message: str, *, remote: str = "") -> None:
        self.remote = remote
        super().__init__(f"{remote}: {message}" if remote else message)


class RemoteUnreachable(GitError):
    """The remote did not answer (DNS, refused connection, timeout)."""


class AuthenticationFailed(GitError):
    """The remote refused our credentials, or the host key did not match."""


class BranchNotFound(GitError):
    """A ref we need does not exist on the remote."""


class RepositoryCorrupt(GitError):
    """The local cache clone is damaged or shallow and cannot be trusted."""


class UnsafePath(GitError):
    """A tree entry is a symlink or leaves the configured directory."""


class ReadLimitExceeded(GitError):
    """An object in a revision is larger than the agent reads; `path` names it."""

    def __init__(self, message: str, *, path: str, remote: str = "") -> None:
        self.path = path
        super().__init__(f"{path}: {message}", remote=remote)


class MergeConflict(GitError):
    """Merging a candidate branch conflicts; a person has to resolve it.

    `paths` names the conflicting files, so a note can list them.
    """

    def __init__(self, message: str, *, remote: str = "", paths: tuple[str, ...] = ()) -> None:
        self.paths = paths
        super().__init__(message, remote=remote)


class PushRejected(GitError):
    """The remote refused a push: the ref moved since we read it."""


class PushRefused(PushRejected):
    """The remote refused a push for a reason a retry cannot change (a hook, branch protection)."""


class PushRetriesExhausted(PushRejected):
    """Compare-and-swap kept losing until the retry bound ran out."""


class SignatureError(GitError):
    """A commit's signature does not let us trust it."""


class UnsignedCommit(SignatureError):
    """The commit carries no signature, but the policy requires one."""


class UntrustedSignature(SignatureError):
    """The signature is invalid or made by a key outside the allowed signers."""
