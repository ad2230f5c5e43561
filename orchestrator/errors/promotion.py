"""Promotions that cannot go out now, and a replica that no longer leads."""

from __future__ import annotations

from orchestrator.errors.base import OrchestratorError


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


class LeadershipLost(OrchestratorError):
    """This replica is not (or no longer) the Lease holder it was: a write is fenced off."""
