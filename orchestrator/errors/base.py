"""The root of the one exception tree (drawn in `orchestrator.errors`)."""

from __future__ import annotations


class OrchestratorError(Exception):
    """Base of every error this project raises on purpose."""
