"""GitHub's REST API (api.github.com or GitHub Enterprise Server's /api/v3).

Tested against request/response fixtures written from GitHub's documentation only:
no GitHub server is reachable from the tests.
"""

from __future__ import annotations

from typing import ClassVar

from orchestrator.forge.hublike import HubLike, parse_pull
from orchestrator.forge.protocol import PullRequest

API_VERSION = "2022-11-28"


class GitHub(HubLike):
    """One GitHub repository, `owner/name`."""

    headers: ClassVar[dict[str, str]] = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
    }
    # "Validation Failed: A pull request already exists for owner:branch."
    duplicate_statuses = (422,)

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def find_pull_request(self, *, head: str) -> PullRequest | None:
        # GitHub filters by head itself; the filter wants `owner:branch`.
        query = {"state": "open", "head": f"{self.owner}:{head}"}
        for item in self.pages(f"{self.repo}/pulls", query=query):
            pull = parse_pull(item)
            if pull.head == head:
                return pull
        return None

    def merge(self, number: int, *, sha: str) -> None:
        path = f"{self.repo}/pulls/{number}/merge"
        response = self.api.send("PUT", path, payload={"sha": sha, "merge_method": "merge"})
        if not 200 <= response.status < 300:
            raise self.refused_merge("PUT", path, response.status, response.body)
