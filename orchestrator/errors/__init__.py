"""The project's one exception tree.

Every expected failure is one of these; the client libraries' own exceptions
(pygit2, kubernetes) never leave the two modules that import them. Each stage
of the pipeline fails with its own branch, so a note can say which stage broke.
Each branch is a module of this package (`errors/git.py`, `errors/kube.py`, ...);
callers import every class from `orchestrator.errors`.

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

from orchestrator.errors.base import OrchestratorError
from orchestrator.errors.config import (
    ConfigError,
    ObjectsNotAllowed,
    PolicyError,
    PublicationRefused,
    SettingsError,
)
from orchestrator.errors.forge import (
    ForgeAuthFailed,
    ForgeError,
    ForgeNotFound,
    ForgeResponseInvalid,
    ForgeUnreachable,
    MergeRefused,
    WebhookRejected,
)
from orchestrator.errors.git import (
    AuthenticationFailed,
    BranchNotFound,
    GitError,
    MergeConflict,
    PushRefused,
    PushRejected,
    PushRetriesExhausted,
    ReadLimitExceeded,
    RemoteUnreachable,
    RepositoryCorrupt,
    SignatureError,
    UnsafePath,
    UnsignedCommit,
    UntrustedSignature,
)
from orchestrator.errors.health import (
    HealthCheckFailed,
    HealthError,
    HealthTimeout,
    HealthWaitCancelled,
    SoakFailed,
    VerificationFailed,
)
from orchestrator.errors.kube import (
    ApplyFailed,
    ClusterUnreachable,
    DryRunFailed,
    FieldConflict,
    Forbidden,
    InventoryError,
    KubeError,
    NotFound,
    PreconditionFailed,
    PruneFailed,
    UnknownKind,
)
from orchestrator.errors.manifests import (
    DuplicateObject,
    InvalidObject,
    ManifestError,
    ManifestErrors,
    ManifestLimitExceeded,
    ManifestParseError,
    MissingParameter,
)
from orchestrator.errors.promotion import (
    GateClosed,
    LeadershipLost,
    PromotionError,
    PromotionSuperseded,
)

__all__ = [
    "ApplyFailed",
    "AuthenticationFailed",
    "BranchNotFound",
    "ClusterUnreachable",
    "ConfigError",
    "DryRunFailed",
    "DuplicateObject",
    "FieldConflict",
    "Forbidden",
    "ForgeAuthFailed",
    "ForgeError",
    "ForgeNotFound",
    "ForgeResponseInvalid",
    "ForgeUnreachable",
    "GateClosed",
    "GitError",
    "HealthCheckFailed",
    "HealthError",
    "HealthTimeout",
    "HealthWaitCancelled",
    "InvalidObject",
    "InventoryError",
    "KubeError",
    "LeadershipLost",
    "ManifestError",
    "ManifestErrors",
    "ManifestLimitExceeded",
    "ManifestParseError",
    "MergeConflict",
    "MergeRefused",
    "MissingParameter",
    "NotFound",
    "ObjectsNotAllowed",
    "OrchestratorError",
    "PolicyError",
    "PreconditionFailed",
    "PromotionError",
    "PromotionSuperseded",
    "PruneFailed",
    "PublicationRefused",
    "PushRefused",
    "PushRejected",
    "PushRetriesExhausted",
    "ReadLimitExceeded",
    "RemoteUnreachable",
    "RepositoryCorrupt",
    "SettingsError",
    "SignatureError",
    "SoakFailed",
    "UnknownKind",
    "UnsafePath",
    "UnsignedCommit",
    "UntrustedSignature",
    "VerificationFailed",
    "WebhookRejected",
]
