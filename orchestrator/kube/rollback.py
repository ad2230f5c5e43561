"""Where a failed delivery rolls back to, chosen from the agent's own record.

The candidates are the inventory's `verified` revisions (`kube/inventory.py`):
revisions this agent itself applied and found Healthy here, recorded in a Secret
in its own namespace. Notes on the bus are not asked, because anyone who can
push can write a note saying "Healthy" on any commit. The target must also be
an ancestor of the failed revision, so a rollback never jumps to another line
of history. The chosen revision is then admitted like any delivery (signature,
policy, allowance) before a byte of it is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["rollback_target"]


def rollback_target(
    verified: Sequence[str], *, failed: str, is_ancestor: Callable[[str, str], bool]
) -> str | None:
    """The newest verified revision that is an ancestor of `failed` (None: nowhere to go)."""
    for candidate in verified:
        if candidate != failed and is_ancestor(candidate, failed):
            return candidate
    return None
