"""Forge REST APIs: each error names the API base URL, never the token."""

from __future__ import annotations

from orchestrator.errors.base import OrchestratorError


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
