"""Bring a commit's statuses on the forge in line with the gates' verdicts.

The git note is the record; the forge shows a copy. After an outage, or when a
replica takes over, the copy is compared with what the forge shows and only what
differs is posted, so catching up costs one read and as few writes as needed,
and repeating it changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from orchestrator.forge.protocol import CommitStatus, Forge


def out_of_date(
    desired: Iterable[CommitStatus], shown: Mapping[str, CommitStatus]
) -> tuple[CommitStatus, ...]:
    """The desired statuses the forge does not show as they are (state, description, link)."""
    return tuple(status for status in desired if shown.get(status.context) != status)


def mirror_statuses(forge: Forge, sha: str, desired: Iterable[CommitStatus]) -> tuple[str, ...]:
    """Post what differs on commit `sha`; return the contexts posted.

    A ForgeError (an outage) propagates after the statuses posted so far: the
    caller keeps its desired set and mirrors again later, which posts the rest.
    """
    wanted = {status.context: status for status in desired}
    posted = []
    for status in out_of_date(wanted.values(), forge.statuses(sha)):
        forge.set_status(sha, status)
        posted.append(status.context)
    return tuple(posted)
