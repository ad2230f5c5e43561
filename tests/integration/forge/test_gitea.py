"""The Gitea adapter against a real Gitea: pull requests, statuses, comments, merges, hooks."""

from __future__ import annotations

import base64
import http.server
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from e2e.forge import GiteaServer
from orchestrator.errors import ForgeUnreachable, MergeRefused
from orchestrator.forge import CommitStatus, Forge, PullRequest, StatusState, connect
from orchestrator.forge.gitea import Gitea
from orchestrator.forge.mirror import mirror_statuses
from orchestrator.forge.webhooks import refs_named, verify
from tests.integration.forge.conftest import BusRepo

HEAD = "pr/production/feature-a"
HEALTH = "orchestrator/staging/health"


def _commit_file(repo: BusRepo, *, path: str, branch: str, new_branch: str = "") -> str:
    """Commit one file through the API (Gitea pushes it like any push); returns the sha."""
    payload = {
        "content": base64.b64encode(f"{path} on {new_branch or branch}\n".encode()).decode(),
        "message": f"add {path}",
        "branch": branch,
    }
    if new_branch:
        payload["new_branch"] = new_branch
    answer = repo.server.api("POST", f"/repos/{repo.full_name}/contents/{path}", payload)
    assert answer.status == 201, answer.data
    sha: str = answer.data["commit"]["sha"]
    return sha


def _candidate(repo: BusRepo) -> str:
    """`production` forked from `staging`, and a candidate branch one commit ahead of it."""
    answer = repo.server.api(
        "POST",
        f"/repos/{repo.full_name}/branches",
        {"new_branch_name": "production", "old_branch_name": "staging"},
    )
    assert answer.status == 201, answer.data
    return _commit_file(repo, path="app.yaml", branch="production", new_branch=HEAD)


def _open_pulls(repo: BusRepo) -> list[dict[str, object]]:
    answer = repo.server.api("GET", f"/repos/{repo.full_name}/pulls?state=open")
    assert answer.status == 200, answer.data
    pulls: list[dict[str, object]] = answer.data
    return pulls


def test_a_pull_request_is_opened_once_per_head_across_restarts(bus_repo: BusRepo) -> None:
    sha = _candidate(bus_repo)
    assert bus_repo.forge.find_pull_request(head=HEAD) is None

    first = bus_repo.forge.open_pull_request(
        head=HEAD, base="production", title="Promote feature-a", body="verified at one"
    )
    assert (first.head, first.base, first.head_sha) == (HEAD, "production", sha)
    assert first.url.startswith(bus_repo.server.url)

    # A restarted agent (a new adapter) updates the same pull request.
    again = connect(
        kind="gitea",
        api_url=bus_repo.server.api_url,
        repository=bus_repo.full_name,
        token_file=bus_repo.token_file,
    )
    second = again.open_pull_request(
        head=HEAD, base="production", title="Promote feature-a", body="verified at two"
    )
    assert second.number == first.number
    assert second.body == "verified at two"
    assert [p["number"] for p in _open_pulls(bus_repo)] == [first.number]
    assert bus_repo.forge.find_pull_request(head=HEAD) == second


def test_statuses_are_visible_with_the_latest_state_per_context(bus_repo: BusRepo) -> None:
    sha = _candidate(bus_repo)
    forge = bus_repo.forge
    forge.set_status(sha, CommitStatus(context=HEALTH, state=StatusState.PENDING))
    forge.set_status(
        sha,
        CommitStatus(
            context=HEALTH,
            state=StatusState.SUCCESS,
            description="healthy: 3 objects",
            target_url="http://127.0.0.1/pipeline",
        ),
    )
    forge.set_status(
        sha, CommitStatus(context="orchestrator/staging/soak", state=StatusState.FAILURE)
    )

    seen = forge.statuses(sha)
    assert seen[HEALTH] == CommitStatus(
        context=HEALTH,
        state=StatusState.SUCCESS,
        description="healthy: 3 objects",
        target_url="http://127.0.0.1/pipeline",
    )
    assert seen["orchestrator/staging/soak"].state is StatusState.FAILURE
    assert set(seen) == {HEALTH, "orchestrator/staging/soak"}


def test_the_marked_comment_is_created_then_edited_never_repeated(bus_repo: BusRepo) -> None:
    _candidate(bus_repo)
    pull = bus_repo.forge.open_pull_request(head=HEAD, base="production", title="t", body="b")
    marker = "orchestrator/production/preview"
    created = bus_repo.forge.upsert_comment(pull.number, marker=marker, body="2 to change")
    bus_repo.server.api(
        "POST", f"/repos/{bus_repo.full_name}/issues/{pull.number}/comments", {"body": "lgtm"}
    )
    edited = bus_repo.forge.upsert_comment(pull.number, marker=marker, body="1 to create")

    assert edited.id == created.id
    answer = bus_repo.server.api(
        "GET", f"/repos/{bus_repo.full_name}/issues/{pull.number}/comments"
    )
    bodies = [c["body"] for c in answer.data]
    assert bodies == [f"<!-- {marker} -->\n1 to create", "lgtm"]


def test_branch_protection_refuses_the_merge_until_required_statuses_pass(
    bus_repo: BusRepo,
) -> None:
    sha = _candidate(bus_repo)
    answer = bus_repo.server.api(
        "POST",
        f"/repos/{bus_repo.full_name}/branch_protections",
        {"rule_name": "production", "enable_status_check": True, "status_check_contexts": [HEALTH]},
    )
    assert answer.status == 201, answer.data
    pull = bus_repo.forge.open_pull_request(head=HEAD, base="production", title="t", body="b")

    with pytest.raises(MergeRefused) as refused:
        bus_repo.forge.merge(pull.number, sha=sha)
    assert refused.value.status == 405
    bus_repo.forge.set_status(sha, CommitStatus(context=HEALTH, state=StatusState.PENDING))
    with pytest.raises(MergeRefused):
        bus_repo.forge.merge(pull.number, sha=sha)

    bus_repo.forge.set_status(sha, CommitStatus(context=HEALTH, state=StatusState.SUCCESS))
    bus_repo.forge.merge(pull.number, sha=sha)

    merged = bus_repo.server.api("GET", f"/repos/{bus_repo.full_name}/pulls/{pull.number}")
    assert merged.data["merged"] is True
    assert bus_repo.forge.find_pull_request(head=HEAD) is None


def test_a_merge_of_a_head_that_moved_is_refused(bus_repo: BusRepo) -> None:
    old = _candidate(bus_repo)
    pull = bus_repo.forge.open_pull_request(head=HEAD, base="production", title="t", body="b")
    _commit_file(bus_repo, path="later.yaml", branch=HEAD)
    with pytest.raises(MergeRefused):
        bus_repo.forge.merge(pull.number, sha=old)


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes


@pytest.fixture
def listener() -> Iterator[tuple[str, queue.Queue[Delivery]]]:
    """A webhook receiver on 127.0.0.1 that queues every delivery it gets."""
    received: queue.Queue[Delivery] = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            received.put(Delivery(dict(self.headers.items()), self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def _next_event(received: queue.Queue[Delivery], event: str) -> Delivery:
    while True:
        delivery = received.get(timeout=15)
        if delivery.headers.get("X-Gitea-Event") == event:
            return delivery


def test_webhook_deliveries_verify_and_name_the_moved_refs(
    bus_repo: BusRepo, listener: tuple[str, queue.Queue[Delivery]]
) -> None:
    url, received = listener
    secret = "hook-secret-for-the-test"
    answer = bus_repo.server.api(
        "POST",
        f"/repos/{bus_repo.full_name}/hooks",
        {
            "type": "gitea",
            "active": True,
            "events": ["push", "pull_request"],
            "config": {"url": url, "content_type": "json", "secret": secret},
        },
    )
    assert answer.status == 201, answer.data

    _commit_file(bus_repo, path="pushed.yaml", branch="staging")
    push = _next_event(received, "push")
    verify("gitea", headers=push.headers, body=push.body, secret=secret.encode())
    verify("github", headers=push.headers, body=push.body, secret=secret.encode())
    assert refs_named("gitea", headers=push.headers, body=push.body) == ("refs/heads/staging",)

    sha = _candidate(bus_repo)
    pull = bus_repo.forge.open_pull_request(head=HEAD, base="production", title="t", body="b")
    bus_repo.forge.merge(pull.number, sha=sha)
    while True:
        merged = _next_event(received, "pull_request")
        verify("gitea", headers=merged.headers, body=merged.body, secret=secret.encode())
        refs = refs_named("gitea", headers=merged.headers, body=merged.body)
        if refs:
            break
    assert refs == ("refs/heads/production",)


def test_a_stopped_forge_is_unreachable_and_answers_again_after_restart(
    gitea: GiteaServer, bus_repo: BusRepo
) -> None:
    sha = _candidate(bus_repo)
    forge: Forge = bus_repo.forge
    gitea.stop()
    try:
        with pytest.raises(ForgeUnreachable):
            forge.set_status(sha, CommitStatus(context=HEALTH, state=StatusState.SUCCESS))
    finally:
        gitea.start()
    forge.set_status(sha, CommitStatus(context=HEALTH, state=StatusState.SUCCESS))
    assert forge.statuses(sha)[HEALTH].state is StatusState.SUCCESS


def test_losing_the_race_to_open_uses_the_winners_pull_request(bus_repo: BusRepo) -> None:
    """Another replica opens the pull request between this one's look and its create."""
    _candidate(bus_repo)
    winner = bus_repo.server.api(
        "POST",
        f"/repos/{bus_repo.full_name}/pulls",
        {"head": HEAD, "base": "production", "title": "winner", "body": "first"},
    )
    assert winner.status == 201, winner.data
    forge = bus_repo.forge
    assert isinstance(forge, Gitea)
    looks = [None]
    real_find = forge.find_pull_request

    def find_after_the_race(*, head: str) -> PullRequest | None:
        # The first look happened before the winner's create; later ones see it.
        return looks.pop() if looks else real_find(head=head)

    forge.find_pull_request = find_after_the_race  # type: ignore[method-assign]
    pull = forge.open_pull_request(head=HEAD, base="production", title="mine", body="second")

    assert pull.number == winner.data["number"]
    assert (pull.title, pull.body) == ("mine", "second")
    assert [p["number"] for p in _open_pulls(bus_repo)] == [pull.number]


def test_statuses_missed_during_an_outage_catch_up_after_restart(
    gitea: GiteaServer, bus_repo: BusRepo
) -> None:
    sha = _candidate(bus_repo)
    forge = bus_repo.forge
    apply = CommitStatus(context="orchestrator/staging/apply", state=StatusState.SUCCESS)
    health = CommitStatus(context=HEALTH, state=StatusState.SUCCESS, description="healthy")
    assert mirror_statuses(forge, sha, [apply]) == (apply.context,)

    gitea.stop()
    try:
        with pytest.raises(ForgeUnreachable):
            mirror_statuses(forge, sha, [apply, health])
    finally:
        gitea.start()

    assert mirror_statuses(forge, sha, [apply, health]) == (HEALTH,)
    assert mirror_statuses(forge, sha, [apply, health]) == ()
    assert forge.statuses(sha) == {apply.context: apply, HEALTH: health}
