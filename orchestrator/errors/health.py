"""Health verdicts and verification runs that fail a delivery."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.errors.base import OrchestratorError
from orchestrator.objectref import ObjectRef


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
