"""What GitHub's REST API and Gitea's (which copies it) share.

Pull requests, commit statuses and issue comments have the same paths and JSON
shapes on both; they differ in pagination, in how an open pull request is looked
up by its head branch, and in the merge call. The two adapters fill in those.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from orchestrator.errors import ForgeError, MergeRefused
from orchestrator.forge.http import JsonApi, Response, forge_message, quote, require
from orchestrator.forge.protocol import (
    Comment,
    CommitStatus,
    PullRequest,
    StatusState,
    marker_tag,
    with_marker,
)


class HubLike:
    """The operations GitHub and Gitea spell alike; subclasses add find and merge."""

    headers: ClassVar[dict[str, str]] = {}
    page_size_param = "per_page"
    page_size = 100
    # The field a status's state is in, in the combined status's list.
    state_field = "state"
    # HTTP statuses with which creating a pull request says "one is open already".
    duplicate_statuses: tuple[int, ...] = ()

    def __init__(self, *, api: JsonApi, repository: str) -> None:
        owner, _, name = repository.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"repository must be 'owner/name', not {repository!r}")
        self.api = api
        self.owner = owner
        self.repo = f"/repos/{quote(owner)}/{quote(name)}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.api.base_url}{self.repo})"

    # --- pull requests ---------------------------------------------------------

    def find_pull_request(self, *, head: str) -> PullRequest | None:
        raise NotImplementedError

    def open_pull_request(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        found = self.find_pull_request(head=head)
        if found is None:
            path = f"{self.repo}/pulls"
            payload = {"head": head, "base": base, "title": title, "body": body}
            response = self.api.send("POST", path, payload=payload)
            if response.status in self.duplicate_statuses:
                # Another replica opened it between our look and our create: use that one.
                found = self.find_pull_request(head=head)
            if found is None:
                return parse_pull(self.api.decode("POST", path, response))
        if (found.title, found.body) == (title, body):
            return found
        data = self.api.call(
            "PATCH", f"{self.repo}/pulls/{found.number}", payload={"title": title, "body": body}
        )
        return parse_pull(data)

    # --- statuses -----------------------------------------------------------------

    def set_status(self, sha: str, status: CommitStatus) -> None:
        payload = {
            "state": status.state.value,
            "context": status.context,
            "description": status.description,
        }
        if status.target_url:
            payload["target_url"] = status.target_url
        self.api.call("POST", f"{self.repo}/statuses/{quote(sha)}", payload=payload)

    def statuses(self, sha: str) -> Mapping[str, CommitStatus]:
        data = self.api.call(
            "GET",
            f"{self.repo}/commits/{quote(sha)}/status",
            query={self.page_size_param: self.page_size},
        )
        if isinstance(data, dict) and data.get("statuses") is None:
            return {}  # Gitea's answer for a commit without statuses: `"statuses": null`
        found: dict[str, CommitStatus] = {}
        for item in require(data, "statuses", list):
            status = parse_status(item, state_field=self.state_field)
            found.setdefault(status.context, status)
        return found

    # --- comments -------------------------------------------------------------------

    def upsert_comment(self, number: int, *, marker: str, body: str) -> Comment:
        text = with_marker(body, marker)
        tag = marker_tag(marker)
        for item in self.pages(f"{self.repo}/issues/{number}/comments"):
            if tag in str(item.get("body") or ""):
                if item.get("body") == text:
                    return parse_comment(item)
                path = f"{self.repo}/issues/comments/{int(item['id'])}"
                return parse_comment(self.api.call("PATCH", path, payload={"body": text}))
        path = f"{self.repo}/issues/{number}/comments"
        return parse_comment(self.api.call("POST", path, payload={"body": text}))

    # --- helpers --------------------------------------------------------------------

    def pages(
        self, path: str, *, query: Mapping[str, str | int] | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.api.pages(
            path, query=query, size_param=self.page_size_param, size=self.page_size
        )

    def refused_merge(self, method: str, path: str, status: int, body: bytes) -> ForgeError:
        """MergeRefused for the statuses that mean "not now", else the ordinary error."""
        if status in (405, 409, 422):
            said = forge_message(body) or "not mergeable"
            return MergeRefused(f"{method} {path}: {said}", api=self.api.base_url, status=status)
        return self.api.error(method, path, Response(status=status, body=body))


def parse_pull(data: Any) -> PullRequest:
    head = require(data, "head", dict)
    base = require(data, "base", dict)
    return PullRequest(
        number=int(require(data, "number", int)),
        head=str(require(head, "ref", str)),
        base=str(require(base, "ref", str)),
        head_sha=str(require(head, "sha", str)),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        url=str(data.get("html_url") or ""),
    )


def parse_status(data: Any, *, state_field: str = "state") -> CommitStatus:
    state = str(require(data, state_field, str))
    known = {s.value for s in StatusState}
    return CommitStatus(
        context=str(require(data, "context", str)),
        state=StatusState(state) if state in known else StatusState.ERROR,
        description=str(data.get("description") or ""),
        target_url=str(data.get("target_url") or ""),
    )


def parse_comment(data: Any) -> Comment:
    return Comment(id=int(require(data, "id", int)), body=str(data.get("body") or ""))
