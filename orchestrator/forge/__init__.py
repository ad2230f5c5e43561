"""The forge side: pull requests, commit statuses and webhooks where people review.

Git notes stay the record; a forge (Gitea/Forgejo, GitHub, GitLab) is where people
see gates and act on them. `protocol` is the port, one module per forge adapts it
to that forge's REST API over `http`, and `webhooks` checks the forges' own
delivery formats. Nothing here imports pygit2 or kubernetes.
"""

from orchestrator.forge.connect import FORGE_KINDS, connect
from orchestrator.forge.protocol import (
    Comment,
    CommitStatus,
    Forge,
    PullRequest,
    StatusState,
)

__all__ = [
    "FORGE_KINDS",
    "Comment",
    "CommitStatus",
    "Forge",
    "PullRequest",
    "StatusState",
    "connect",
]
