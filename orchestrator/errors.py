"""The project's one exception tree.

Every expected failure is one of these; the client libraries' own exceptions
(pygit2, kubernetes) never leave the two modules that import them. Each stage
of the pipeline fails with its own branch, so a note can say which stage broke.

    OrchestratorError
    ├── ConfigError                  settings or policy cannot be used
    │   ├── SettingsError
    │   ├── PolicyError
    │   └── ObjectsNotAllowed        a delivery reaches outside the policy's `allow`
    ├── GitError                     carries the remote URL, credentials stripped
    │   ├── RemoteUnreachable
    │   ├── AuthenticationFailed
    │   ├── BranchNotFound
    │   ├── RepositoryCorrupt        corrupt or shallow cache clone
    │   ├── UnsafePath               symlink or path leaving the configured directory
    │   ├── ReadLimitExceeded        an object larger than the read limits (size from its header)
    │   ├── MergeConflict            a merge (approve) would need a person
    │   ├── PushRejected             compare-and-swap lost (someone else moved the ref)
    │   │   ├── PushRefused          declined for good (a hook, branch protection): not retried
    │   │   └── PushRetriesExhausted
    │   └── SignatureError
    │       ├── UnsignedCommit
    │       └── UntrustedSignature
    ├── ManifestError                carries the file (and object, if known)
    │   ├── ManifestLimitExceeded
    │   ├── ManifestParseError
    │   ├── InvalidObject
    │   ├── DuplicateObject
    │   ├── MissingParameter
    │   └── ManifestErrors           every problem of one delivery, reported at once
    ├── KubeError                    carries the object as Kind/namespace/name
    │   ├── ClusterUnreachable
    │   ├── Forbidden
    │   ├── NotFound
    │   ├── PreconditionFailed       a delete's uid precondition: the object is another one now
    │   ├── UnknownKind              names apiVersion, kind and the file
    │   ├── DryRunFailed             every rejection of a delivery, nothing applied
    │   ├── ApplyFailed              one object, or every failure of one apply stage
    │   ├── FieldConflict            names the other field manager(s)
    │   ├── PruneFailed              every object that could not be deleted
    │   └── InventoryError
    ├── HealthError                  carries the objects at fault as `refs`
    │   ├── HealthCheckFailed        an object failed; waiting longer cannot help
    │   ├── HealthTimeout
    │   ├── HealthWaitCancelled      a newer revision arrived while waiting
    │   ├── SoakFailed               healthy at first, then not, within the soak period
    │   └── VerificationFailed       also carries the runs' records for the note
    ├── ForgeError                   carries the forge's API base URL, never the token
    │   ├── ForgeUnreachable         no answer, a timeout, or a 5xx: worth retrying later
    │   ├── ForgeAuthFailed          the token was refused (401/403)
    │   ├── ForgeNotFound            the repository, pull request or comment does not exist
    │   ├── ForgeResponseInvalid     an answer too large, not JSON, or missing a field
    │   ├── MergeRefused             the forge declined the merge (protection, conflict)
    │   └── WebhookRejected          a delivery's signature or size is not acceptable
    ├── PromotionError
    │   ├── GateClosed
    │   └── PromotionSuperseded      the target holds a promotion of a newer revision already
    └── LeadershipLost               this replica no longer holds the Lease: it writes nothing
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.objectref import ObjectRef


class OrchestratorError(Exception):
    """Base of every error this project raises on purpose."""


# --- configuration ---------------------------------------------------------


class ConfigError(OrchestratorError):
    """Settings or policy that cannot be used as written."""


class SettingsError(ConfigError):
    """The agent's own settings are invalid; it refuses to start."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in self.problems))


class PolicyError(ConfigError):
    """The promotion policy file on a branch is invalid."""

    def __init__(self, path: str, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        detail = "; ".join(self.problems)
        super().__init__(f"{path}: invalid policy: {detail}")


class ObjectsNotAllowed(ConfigError):
    """Objects outside the environment's allowance (namespaces, kinds, scope); nothing applied."""

    def __init__(self, refusals: Sequence[str]) -> None:
        self.refusals = list(refusals)
        lines = "\n".join(f"  {r}" for r in self.refusals)
        super().__init__(
            f"{len(self.refusals)} object(s) outside this environment's allowance:\n{lines}"
        )


class PublicationRefused(ConfigError):
    """Files an agent would refuse; nothing was pushed. `problems` lists each, once."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"not published: {len(self.problems)} problem(s):\n{lines}")


# --- git ----------------------------------------------------------------------


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


# --- manifests ----------------------------------------------------------------


class ManifestError(OrchestratorError):
    """A file of the delivery cannot become a set of objects."""

    def __init__(self, message: str, *, path: str, ref: ObjectRef | None = None) -> None:
        self.path = path
        self.ref = ref
        where = f"{path}: {ref}" if ref is not None else path
        super().__init__(f"{where}: {message}")


class ManifestLimitExceeded(ManifestError):
    """A size, count, depth or alias limit protects the agent from this input."""


class ManifestParseError(ManifestError):
    """Not valid YAML or JSON."""


class InvalidObject(ManifestError):
    """A document is not a well-formed Kubernetes object."""


class DuplicateObject(ManifestError):
    """The same Kind/namespace/name appears twice."""


class MissingParameter(ManifestError):
    """A `$(params.x)$` placeholder has no value for this environment."""


class ManifestErrors(ManifestError):
    """Several problems in one delivery, so one run reports every bad file.

    `path` is the delivery's root; each error in `errors` names its own file.
    """

    def __init__(self, errors: Sequence[ManifestError], *, path: str) -> None:
        self.errors = list(errors)
        lines = "\n".join(f"  {error}" for error in self.errors)
        super().__init__(f"{len(self.errors)} problems:\n{lines}", path=path)


# --- kubernetes -----------------------------------------------------------------


class KubeError(OrchestratorError):
    """A Kubernetes API call failed, for the object named in the message.

    `reason` is the API server's own words when it gave any (else the message),
    without the object's name in front: what a report lists next to the ref.
    """

    def __init__(self, message: str, *, ref: ObjectRef | None = None, reason: str = "") -> None:
        self.ref = ref
        self.reason = reason or message
        super().__init__(f"{ref}: {message}" if ref is not None else message)


class ClusterUnreachable(KubeError):
    """The API server did not answer."""


class Forbidden(KubeError):
    """The API server refused the agent's identity (401) or RBAC denied it (403)."""


class NotFound(KubeError):
    """The object (or its namespace) does not exist."""


class PreconditionFailed(KubeError):
    """A delete with a uid precondition met another object of that name (409)."""


class UnknownKind(KubeError):
    """API discovery does not know this apiVersion/kind."""


class DryRunFailed(KubeError):
    """The server-side dry run rejected one or more objects; nothing was applied."""

    def __init__(self, rejections: Sequence[tuple[ObjectRef, str]]) -> None:
        self.rejections = list(rejections)
        lines = "\n".join(f"  {ref}: {reason}" for ref, reason in self.rejections)
        super().__init__(f"dry run rejected {len(self.rejections)} object(s):\n{lines}")


class ApplyFailed(KubeError):
    """Server-side apply failed after a successful dry run.

    For one object `ref` names it; when several objects of one stage failed,
    `errors` holds each of them (and `ref` is None).
    """

    def __init__(
        self,
        message: str,
        *,
        ref: ObjectRef | None = None,
        reason: str = "",
        errors: Sequence[KubeError] = (),
    ) -> None:
        self.errors = list(errors)
        super().__init__(message, ref=ref, reason=reason)


class FieldConflict(KubeError):
    """Another field manager owns fields we set, and the policy does not force.

    `managers` are the other managers, `fields` the contested field paths. When
    several objects conflict, `conflicts` holds one FieldConflict per object.
    """

    def __init__(
        self,
        message: str,
        *,
        ref: ObjectRef | None = None,
        reason: str = "",
        managers: Sequence[str] = (),
        fields: Sequence[str] = (),
        conflicts: Sequence[FieldConflict] = (),
    ) -> None:
        self.managers = list(managers)
        self.fields = list(fields)
        self.conflicts = list(conflicts)
        super().__init__(message, ref=ref, reason=reason)


class PruneFailed(KubeError):
    """Objects that left the delivery could not be deleted; `errors` has each failure."""

    def __init__(
        self,
        message: str,
        *,
        ref: ObjectRef | None = None,
        reason: str = "",
        errors: Sequence[KubeError] = (),
    ) -> None:
        self.errors = list(errors)
        super().__init__(message, ref=ref, reason=reason)


class InventoryError(KubeError):
    """The record of what this environment applied cannot be read or written."""


# --- health -----------------------------------------------------------------------


class HealthError(OrchestratorError):
    """The delivery did not prove healthy; `refs` are the objects the message names."""

    def __init__(self, message: str, *, refs: Sequence[ObjectRef] = ()) -> None:
        self.refs = tuple(refs)
        super().__init__(message)


class HealthCheckFailed(HealthError):
    """An object reached a state that cannot become healthy without a change."""


class HealthTimeout(HealthError):
    """Objects were still not healthy when the timeout ran out."""


class HealthWaitCancelled(HealthError):
    """Waiting stopped because it no longer matters (a newer revision arrived)."""


class SoakFailed(HealthError):
    """An object stopped being healthy during the soak period: a momentary Healthy is not enough."""


class VerificationFailed(HealthError):
    """A verification run failed, did not finish in time, or could not be created.

    `records` are every run's plain-data result at that moment, for the git note.
    """

    def __init__(
        self,
        message: str,
        *,
        refs: Sequence[ObjectRef] = (),
        records: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self.records = tuple(dict(r) for r in records)
        super().__init__(message, refs=refs)


# --- forge ----------------------------------------------------------------------


class ForgeError(OrchestratorError):
    """A call to a forge's API failed. `api` is its base URL; the token is never in a message.

    `status` is the HTTP status when the forge answered (0 when it did not).
    """

    def __init__(self, message: str, *, api: str = "", status: int = 0) -> None:
        self.api = api
        self.status = status
        super().__init__(f"{api}: {message}" if api else message)


class ForgeUnreachable(ForgeError):
    """No answer, a timeout, or a server error: the forge may answer later."""


class ForgeAuthFailed(ForgeError):
    """The forge refused the token (401) or its scopes (403)."""


class ForgeNotFound(ForgeError):
    """The repository, pull request, commit or comment does not exist (or is hidden from us)."""


class ForgeResponseInvalid(ForgeError):
    """An answer larger than the read limit, not JSON, or without a field we need."""


class MergeRefused(ForgeError):
    """The forge declined to merge: required statuses not green, a conflict, or not mergeable."""


class WebhookRejected(ForgeError):
    """A webhook delivery is refused: bad or missing signature, or a body over the size cap."""


# --- promotion --------------------------------------------------------------------


class PromotionError(OrchestratorError):
    """A verified revision could not be promoted."""


class GateClosed(PromotionError):
    """A window, freeze or soak gate does not allow promotion now."""


class PromotionSuperseded(PromotionError):
    """The target already holds a promotion from a revision that descends from this one.

    Pushing would replay older content over newer; `newer` is that revision.
    """

    def __init__(self, message: str, *, newer: str) -> None:
        self.newer = newer
        super().__init__(message)


# --- leadership -----------------------------------------------------------------


class LeadershipLost(OrchestratorError):
    """This replica is not (or no longer) the Lease holder it was: a write is fenced off."""
