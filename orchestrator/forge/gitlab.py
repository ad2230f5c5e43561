"""GitLab's REST API, `/api/v4`: merge requests, commit statuses and notes.

GitLab names things its own way: a pull request is a merge request addressed by
its `iid`, a status's context is its `name`, its states are pending, running,
success, failed and canceled, and a comment is a note. This module translates.

Tested against request/response fixtures written from GitLab's documentation only:
no GitLab server is reachable from the tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from orchestrator.errors import MergeRefused
from orchestrator.forge.http import JsonApi, forge_message, quote, require
from orchestrator.forge.protocol import (
    Comment,
    CommitStatus,
    PullRequest,
    StatusState,
    marker_tag,
    with_marker,
)

_TO_GITLAB = {
    StatusState.PENDING: "pending",
    StatusState.SUCCESS: "success",
    StatusState.FAILURE: "failed",
    StatusState.ERROR: "failed",
}
_FROM_GITLAB = {
    "pending": StatusState.PENDING,
    "running": StatusState.PENDING,
    "created": StatusState.PENDING,
    "success": StatusState.SUCCESS,
    "failed": StatusState.FAILURE,
    "canceled": StatusState.ERROR,
}


class GitLab:
    """One GitLab project, addressed by its path (`group/subgroup/name`) or numeric id."""

    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, *, api: JsonApi, repository: str) -> None:
        if not repository:
            raise ValueError("a GitLab project path or id is required")
        self.api = api
        self.project = f"/projects/{quote(repository)}"

    def __repr__(self) -> str:
        return f"GitLab({self.api.base_url}{self.project})"

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"PRIVATE-TOKEN": token}

    def find_pull_request(self, *, head: str) -> PullRequest | None:
        query = {"state": "opened", "source_branch": head}
        for item in self._pages(f"{self.project}/merge_requests", query=query):
            pull = parse_merge_request(item)
            if pull.head == head:
                return pull
        return None

    def open_pull_request(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        found = self.find_pull_request(head=head)
        if found is None:
            path = f"{self.project}/merge_requests"
            payload = {"source_branch": head, "target_branch": base, "title": title}
            response = self.api.send("POST", path, payload={**payload, "description": body})
            if response.status == 409:
                # "Another open merge request already exists for this source branch":
                # another replica was quicker, so that one is updated instead.
                found = self.find_pull_request(head=head)
            if found is None:
                return parse_merge_request(self.api.decode("POST", path, response))
        if (found.title, found.body) == (title, body):
            return found
        path = f"{self.project}/merge_requests/{found.number}"
        data = self.api.call("PUT", path, payload={"title": title, "description": body})
        return parse_merge_request(data)

    def set_status(self, sha: str, status: CommitStatus) -> None:
        path = f"{self.project}/statuses/{quote(sha)}"
        payload = {
            "state": _TO_GITLAB[status.state],
            "name": status.context,
            "description": status.description,
        }
        if status.target_url:
            payload["target_url"] = status.target_url
        response = self.api.send("POST", path, payload=payload)
        if 200 <= response.status < 300:
            return
        # GitLab refuses to move a status into the state it is already in.
        if response.status == 400 and "Cannot transition status" in forge_message(response.body):
            return
        raise self.api.error("POST", path, response)

    def statuses(self, sha: str) -> Mapping[str, CommitStatus]:
        found: dict[str, CommitStatus] = {}
        path = f"{self.project}/repository/commits/{quote(sha)}/statuses"
        # Without `all`, GitLab lists only the latest status of each name.
        for item in self._pages(path):
            status = parse_status(item)
            found.setdefault(status.context, status)
        return found

    def upsert_comment(self, number: int, *, marker: str, body: str) -> Comment:
        text = with_marker(body, marker)
        tag = marker_tag(marker)
        notes = f"{self.project}/merge_requests/{number}/notes"
        for item in self._pages(notes):
            if not item.get("system") and tag in str(item.get("body") or ""):
                if item.get("body") == text:
                    return parse_note(item)
                path = f"{notes}/{int(item['id'])}"
                return parse_note(self.api.call("PUT", path, payload={"body": text}))
        return parse_note(self.api.call("POST", notes, payload={"body": text}))

    def merge(self, number: int, *, sha: str) -> None:
        path = f"{self.project}/merge_requests/{number}/merge"
        response = self.api.send("PUT", path, payload={"sha": sha})
        if 200 <= response.status < 300:
            return
        # 405 not mergeable (draft, pipeline, approvals), 406 conflicts, 409 head moved.
        if response.status in (405, 406, 409, 422):
            said = forge_message(response.body) or "not mergeable"
            raise MergeRefused(f"PUT {path}: {said}", api=self.api.base_url, status=response.status)
        raise self.api.error("PUT", path, response)

    def _pages(
        self, path: str, *, query: Mapping[str, str | int] | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.api.pages(path, query=query)


def parse_merge_request(data: Any) -> PullRequest:
    return PullRequest(
        number=int(require(data, "iid", int)),
        head=str(require(data, "source_branch", str)),
        base=str(require(data, "target_branch", str)),
        head_sha=str(require(data, "sha", str)),
        title=str(data.get("title") or ""),
        body=str(data.get("description") or ""),
        url=str(data.get("web_url") or ""),
    )


def parse_status(data: Any) -> CommitStatus:
    return CommitStatus(
        context=str(require(data, "name", str)),
        state=_FROM_GITLAB.get(str(require(data, "status", str)), StatusState.ERROR),
        description=str(data.get("description") or ""),
        target_url=str(data.get("target_url") or ""),
    )


def parse_note(data: Any) -> Comment:
    return Comment(id=int(require(data, "id", int)), body=str(data.get("body") or ""))
