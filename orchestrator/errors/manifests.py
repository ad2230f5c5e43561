"""Manifests that cannot be loaded: each error names the file, and the object if known."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.errors.base import OrchestratorError
from orchestrator.objectref import ObjectRef


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
