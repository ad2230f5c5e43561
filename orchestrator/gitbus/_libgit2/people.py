"""Authors and committers between the bus's identities and libgit2's signatures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

import pygit2


class Stamp(Protocol):
    """Anything naming a person and, optionally, when (None: the time of writing)."""

    @property
    def name(self) -> str:
        """Display name."""
        ...

    @property
    def email(self) -> str:
        """E-mail address."""
        ...

    @property
    def when(self) -> datetime | None:
        """Timezone-aware moment, or None for now."""
        ...


@dataclass(frozen=True, slots=True)
class Person:
    """An author or committer as a commit records them."""

    name: str
    email: str
    when: datetime


def signature(stamp: Stamp) -> pygit2.Signature:
    """The libgit2 signature for a person, in the timezone of `when`."""
    if stamp.when is None:
        return pygit2.Signature(stamp.name, stamp.email)
    offset = stamp.when.utcoffset() or timedelta(0)
    return pygit2.Signature(
        stamp.name,
        stamp.email,
        int(stamp.when.timestamp()),
        int(offset.total_seconds() // 60),
    )


def person(sig: pygit2.Signature) -> Person:
    """Who a signature names, at its time in its own timezone."""
    tz = timezone(timedelta(minutes=sig.offset))
    return Person(
        name=sig.name,
        email=sig.email,
        when=datetime.fromtimestamp(sig.time, UTC).astimezone(tz),
    )
