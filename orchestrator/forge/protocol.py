"""The forge port: what the agent needs from any forge, as plain values.

Every adapter offers the same few operations, so the agent never knows which forge
it talks to. Pull requests are found by their head branch: the branch name is the
identity that survives restarts and replicas, so a second pull request for the
same promotion is never opened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

# GitHub caps a status description at 140 characters; the others accept more, but a
# description that reads the same everywhere is cut at the smallest limit.
DESCRIPTION_LIMIT = 140


class StatusState(StrEnum):
    """A gate's state as branch protection sees it."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"


@dataclass(frozen=True)
class CommitStatus:
    """One gate's verdict on one commit; `context` names the gate (`orchestrator/<env>/health`)."""

    context: str
    state: StatusState
    description: str = ""
    target_url: str = ""

    def __post_init__(self) -> None:
        if not self.context:
            raise ValueError("a commit status needs a context")
        if len(self.description) > DESCRIPTION_LIMIT:
            cut = self.description[: DESCRIPTION_LIMIT - 1] + "…"
            object.__setattr__(self, "description", cut)


@dataclass(frozen=True)
class PullRequest:
    """An open pull (or merge) request as the forge reports it."""

    number: int
    head: str
    base: str
    head_sha: str
    title: str
    body: str
    url: str


@dataclass(frozen=True)
class Comment:
    """A comment on a pull request; `id` is what an edit addresses."""

    id: int
    body: str


class Forge(Protocol):
    """One repository on one forge, reached with one token."""

    def find_pull_request(self, *, head: str) -> PullRequest | None:
        """The open pull request from branch `head`, if there is one."""
        ...

    def open_pull_request(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        """Open the pull request from `head` into `base`, or update the open one's text."""
        ...

    def set_status(self, sha: str, status: CommitStatus) -> None:
        """Record `status` on commit `sha` (a newer status of the same context replaces it)."""
        ...

    def statuses(self, sha: str) -> Mapping[str, CommitStatus]:
        """The latest status of each context on commit `sha`."""
        ...

    def upsert_comment(self, number: int, *, marker: str, body: str) -> Comment:
        """Keep exactly one comment holding `marker` on pull request `number`, with `body`.

        The marker (an HTML comment, invisible when rendered) is added to the body, so
        the comment is found again after a restart and edited instead of repeated.
        """
        ...

    def merge(self, number: int, *, sha: str) -> None:
        """Merge pull request `number` if its head is still `sha`; MergeRefused otherwise."""
        ...


def with_marker(body: str, marker: str) -> str:
    """The comment body carrying its invisible marker on the first line."""
    tag = marker_tag(marker)
    return body if tag in body else f"{tag}\n{body}"


def marker_tag(marker: str) -> str:
    """The HTML comment that identifies a comment kept up to date by the agent."""
    if "--" in marker or ">" in marker:
        raise ValueError(f"invalid comment marker {marker!r}")
    return f"<!-- {marker} -->"
