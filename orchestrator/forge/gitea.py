"""Gitea's (and Forgejo's) REST API, `/api/v1`: GitHub's shapes with its own pagination.

Tested against a real Gitea started by the test harness.
"""

from __future__ import annotations

from orchestrator.forge.hublike import HubLike, parse_pull
from orchestrator.forge.protocol import PullRequest


class Gitea(HubLike):
    """One Gitea or Forgejo repository, `owner/name`."""

    page_size_param = "limit"
    # Gitea caps pages at its [api] MAX_RESPONSE_ITEMS, 50 by default.
    page_size = 50
    # Gitea's combined status names each entry's state `status` (GitHub: `state`).
    state_field = "status"
    # "pull request already exists for these targets"
    duplicate_statuses = (409,)

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"token {token}"}

    def find_pull_request(self, *, head: str) -> PullRequest | None:
        # The list has no head filter; open pull requests are few, so read them all.
        for item in self.pages(f"{self.repo}/pulls", query={"state": "open"}):
            pull = parse_pull(item)
            if pull.head == head:
                return pull
        return None

    def merge(self, number: int, *, sha: str) -> None:
        path = f"{self.repo}/pulls/{number}/merge"
        payload = {"Do": "merge", "head_commit_id": sha}
        response = self.api.send("POST", path, payload=payload)
        if not 200 <= response.status < 300:
            raise self.refused_merge("POST", path, response.status, response.body)
