"""How much the agent reads out of one revision before it refuses it.

Anyone who can push chooses the bytes of a revision, and a blob of zeros
compresses a thousandfold, so sizes are read from each object's header before
the object is inflated: a refused object never costs more than its header.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True, kw_only=True, slots=True)
class ReadLimits:
    """Ceilings for one read of a revision; the defaults match the agent's settings.

    max_file_bytes (4 MiB): the manifest loader's own per-file ceiling; no file
        the agent parses may be larger, so reading more would only be refused later.
        Commits and trees are held to it as well.
    max_revision_bytes (64 MiB): all files of one read together (the policy
        directory, or the delivery's directory); sixteen full-size files.
    """

    max_file_bytes: int = 4 * MiB
    max_revision_bytes: int = 64 * MiB

    def __post_init__(self) -> None:
        if self.max_file_bytes < 1 or self.max_revision_bytes < 1:
            raise ValueError("read limits must be at least 1 byte")


def file_over_limit(size: int, limit: int) -> str:
    """The refusal of one file or object: the same words from a commit and from a checkout."""
    return f"is {size:,} bytes, over the read limit of {limit:,} (trust.max_file_bytes)"


def read_over_limit(total: int, limit: int) -> str:
    """The refusal of a read whose files together are too large."""
    return (
        f"the files read up to here total {total:,} bytes, over the read "
        f"limit of {limit:,} (trust.max_revision_bytes)"
    )
