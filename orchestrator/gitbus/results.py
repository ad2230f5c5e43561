"""What the cache clone answers, as plain values: ref moves, push outcomes, commit headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.trailers import Trailer


@dataclass(frozen=True, slots=True)
class RefChange:
    """A watched ref moved: None for `old` means new, None for `new` means deleted."""

    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class PollResult:
    """The watched refs after a poll, and which of them moved since the last one."""

    tips: Mapping[str, str]
    changes: Mapping[str, RefChange]

    @property
    def changed(self) -> bool:
        """True if any watched ref moved, appeared or disappeared."""
        return bool(self.changes)


@dataclass(frozen=True, slots=True)
class PushResult:
    """Outcome of a compare-and-swap write; `pushed` False means it was a no-op."""

    ref: str
    commit: str | None
    pushed: bool
    attempts: int


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """What a commit says, without its files."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Identity
    committer: Identity
    message: str
    trailers: tuple[Trailer, ...]
    signed: bool
