"""The forge mirror: one pull request per head, statuses on the revision and the PR head,
nothing lost while the forge is away, auto-merge only when every gate is green."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest

from orchestrator.errors import ForgeError, ForgeUnreachable, MergeRefused
from orchestrator.forge import Comment, CommitStatus, PullRequest, StatusState
from orchestrator.gitbus.protocol import NoteEntry
from orchestrator.report.forge_gates import ForgeGates

REV = "a" * 40
HEAD_COMMIT = "b" * 40
HEAD = "pr/production/feature-a"


class MemoryForge:
    """A forge as plain dictionaries; `down` makes every call fail like an outage."""

    def __init__(self) -> None:
        self.pulls: dict[str, PullRequest] = {}
        self.shown: dict[str, dict[str, CommitStatus]] = {}
        self.merged: list[int] = []
        self.comments: dict[tuple[int, str], str] = {}
        self.down = False
        self.posts = 0

    def _up(self) -> None:
        if self.down:
            raise ForgeUnreachable("connection refused", api="memory", status=0)

    def find_pull_request(self, *, head: str) -> PullRequest | None:
        self._up()
        return self.pulls.get(head)

    def open_pull_request(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        self._up()
        number = self.pulls[head].number if head in self.pulls else len(self.pulls) + 1
        self.pulls[head] = PullRequest(number, head, base, HEAD_COMMIT, title, body, "")
        return self.pulls[head]

    def set_status(self, sha: str, status: CommitStatus) -> None:
        self._up()
        self.posts += 1
        self.shown.setdefault(sha, {})[status.context] = status

    def statuses(self, sha: str) -> Mapping[str, CommitStatus]:
        self._up()
        return dict(self.shown.get(sha, {}))

    def upsert_comment(self, number: int, *, marker: str, body: str) -> Comment:
        self._up()
        self.comments[(number, marker)] = body
        return Comment(id=number, body=body)

    def merge(self, number: int, *, sha: str) -> None:
        self._up()
        if not any(p.number == number for p in self.pulls.values()):
            raise MergeRefused("not open", api="memory", status=405)
        self.merged.append(number)
        self.pulls = {h: p for h, p in self.pulls.items() if p.number != number}


def _note(phase: str, **fields: Any) -> NoteEntry:
    base: dict[str, Any] = {"environment": "staging", "revision": REV, "delivery": "feature-a"}
    return NoteEntry(
        id=phase, at="t", agent="staging-agent", phase=phase, fields={**base, **fields}
    )


HEALTHY = _note("Healthy", health="Healthy (2/2)", runs=[{"name": "smoke", "outcome": "Passed"}])
PROMOTED = _note(
    "Promoted",
    health="Healthy (2/2)",
    runs=[{"name": "smoke", "outcome": "Passed"}],
    promotions=[
        {"target": "production", "ref": f"refs/heads/{HEAD}", "commit": HEAD_COMMIT, "pushed": True}
    ],
)
CONTEXTS = {
    f"orchestrator/staging/{gate}"
    for gate in ("apply", "health", "soak", "verification/smoke", "promotion")
}


def _states(forge: MemoryForge, sha: str) -> dict[str, StatusState]:
    return {context: s.state for context, s in forge.shown.get(sha, {}).items()}


def test_a_promotion_opens_one_pull_request_whose_head_shows_every_gate() -> None:
    forge = MemoryForge()
    gates = ForgeGates(forge=forge)
    gates(HEALTHY)
    gates(PROMOTED)
    gates.flush()
    assert list(forge.pulls) == [HEAD]
    assert forge.pulls[HEAD].base == "production"
    assert _states(forge, REV) == dict.fromkeys(CONTEXTS, StatusState.SUCCESS)
    assert _states(forge, HEAD_COMMIT) == _states(forge, REV)
    assert gates.not_mirrored() == ()

    # The same entries again (a restarted agent): the same pull request, nothing re-posted.
    posts = forge.posts
    again = ForgeGates(forge=forge)
    again(PROMOTED)
    again.flush()
    assert list(forge.pulls) == [HEAD]
    assert forge.posts == posts


def test_what_an_outage_kept_from_the_forge_is_caught_up_when_it_is_back() -> None:
    forge = MemoryForge()
    gates = ForgeGates(forge=forge)
    forge.down = True
    gates(HEALTHY)
    gates(PROMOTED)
    with pytest.raises(ForgeUnreachable):
        gates.flush()
    assert set(gates.not_mirrored()) == {
        f"pull request {HEAD}",
        f"statuses {HEAD_COMMIT[:12]}",
        f"statuses {REV[:12]}",
    }
    forge.down = False
    gates.flush()
    assert list(forge.pulls) == [HEAD]
    assert set(_states(forge, HEAD_COMMIT)) == CONTEXTS
    assert gates.not_mirrored() == ()


def test_the_worker_retries_with_backoff_until_the_forge_answers() -> None:
    forge = MemoryForge()
    gates = ForgeGates(forge=forge, retry_initial=0.05, retry_max=0.2)
    forge.down = True
    gates.start()
    try:
        gates(PROMOTED)
        time.sleep(0.3)
        assert forge.pulls == {}
        forge.down = False
        deadline = time.monotonic() + 5
        while gates.not_mirrored() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gates.not_mirrored() == ()
        assert set(_states(forge, HEAD_COMMIT)) == CONTEXTS
    finally:
        gates.stop()


def test_auto_merge_merges_only_an_all_green_head_and_only_when_the_policy_asks() -> None:
    forge = MemoryForge()
    manual = ForgeGates(forge=forge)  # default: never merges
    manual(PROMOTED)
    manual.flush()
    assert forge.merged == []

    forge = MemoryForge()
    auto = ForgeGates(forge=forge, auto_merge=lambda entry: entry.environment == "staging")
    auto(PROMOTED)
    auto.flush()
    assert forge.merged == [1]

    forge = MemoryForge()
    waiting = ForgeGates(forge=forge, auto_merge=lambda _entry: True)
    waiting(PROMOTED)
    failed_run = _note(
        "Failed", stage="VerificationFailed", runs=[{"name": "smoke", "outcome": "Failed"}]
    )
    waiting(failed_run)  # a drift run's verdict on the same revision turns a gate red
    waiting.flush()
    assert (
        _states(forge, HEAD_COMMIT)["orchestrator/staging/verification/smoke"]
        == StatusState.FAILURE
    )
    assert forge.merged == []


class Recorded:
    """A bus history as plain values: the entries, and which promotions await their merge."""

    def __init__(self, entries: list[NoteEntry], *, awaiting: bool = False) -> None:
        self.recorded = entries
        self.awaiting = awaiting
        self.reads = 0

    def entries(self) -> list[NoteEntry]:
        self.reads += 1
        return self.recorded

    def awaits_merge(self, *, head: str, base: str, commit: str) -> bool:
        return self.awaiting and (head, base, commit) == (HEAD, "production", HEAD_COMMIT)


def test_a_restarted_agent_mirrors_what_its_recent_notes_say() -> None:
    forge = MemoryForge()
    gates = ForgeGates(forge=forge, history=Recorded([HEALTHY, PROMOTED]))
    gates.flush()
    assert _states(forge, REV) == dict.fromkeys(CONTEXTS, StatusState.SUCCESS)
    assert _states(forge, HEAD_COMMIT) == _states(forge, REV)
    assert forge.pulls == {}  # merged meanwhile: not opened again


def test_a_restarted_agent_opens_the_pull_request_a_promotion_still_awaits() -> None:
    forge = MemoryForge()
    history = Recorded([HEALTHY, PROMOTED], awaiting=True)
    gates = ForgeGates(forge=forge, history=history)
    forge.down = True
    with pytest.raises(ForgeUnreachable):
        gates.flush()
    forge.down = False
    gates.flush()
    assert list(forge.pulls) == [HEAD]
    assert set(_states(forge, HEAD_COMMIT)) == CONTEXTS
    gates.flush()
    assert history.reads == 1  # read once: the first attempt got as far as the forge


def test_a_pull_request_the_forge_refuses_does_not_hold_back_the_statuses() -> None:
    class Refusing(MemoryForge):
        def open_pull_request(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
            raise ForgeError("no commits between production and the head", api="m", status=422)

    forge = Refusing()
    gates = ForgeGates(forge=forge)
    gates(PROMOTED)
    gates.flush()
    assert set(_states(forge, HEAD_COMMIT)) == CONTEXTS
    assert gates.not_mirrored() == ()


def test_a_preview_comment_waits_for_the_pull_request_and_is_kept_as_one() -> None:
    forge = MemoryForge()
    gates = ForgeGates(forge=forge)
    preview = CommitStatus(context="orchestrator/production/preview", state=StatusState.SUCCESS)
    show = {"head": HEAD, "sha": HEAD_COMMIT, "status": preview, "marker": "preview"}
    gates.show_preview(**show, body="1 to create")
    gates.flush()
    assert _states(forge, HEAD_COMMIT) == {preview.context: StatusState.SUCCESS}
    assert forge.comments == {}
    assert gates.not_mirrored() == (f"preview comment {HEAD}",)

    forge.open_pull_request(head=HEAD, base="production", title="t", body="b")
    gates.flush()
    gates.show_preview(**show, body="1 to create, 1 to change")
    gates.flush()
    assert forge.comments == {(1, "preview"): "1 to create, 1 to change"}
    assert gates.not_mirrored() == ()


def test_a_revision_verified_by_a_newer_one_shows_the_newer_ones_gates_on_its_pull_request() -> (
    None
):
    newer = "d" * 40
    forge = MemoryForge()
    gates = ForgeGates(forge=forge)
    gates(
        NoteEntry(
            id="n",
            at="t",
            agent="staging-agent",
            phase="Healthy",
            fields={
                "environment": "staging",
                "revision": newer,
                "runs": [{"name": "smoke", "outcome": "Passed"}],
            },
        )
    )
    covered = {"verifiedOn": newer, "health": "Healthy (2/2)"}
    gates(_note("Superseded", **covered))
    gates(
        _note(
            "Promoted",
            **covered,
            promotions=[
                {
                    "target": "production",
                    "ref": f"refs/heads/{HEAD}",
                    "commit": HEAD_COMMIT,
                    "pushed": True,
                }
            ],
        )
    )
    gates.flush()
    assert _states(forge, HEAD_COMMIT) == dict.fromkeys(CONTEXTS, StatusState.SUCCESS)


def test_auto_merge_waits_for_others_checks_and_gives_up_once_merged_by_hand() -> None:
    forge = MemoryForge()
    gates = ForgeGates(forge=forge, auto_merge=lambda _entry: True)
    preview = "orchestrator/production/preview"
    forge.shown[HEAD_COMMIT] = {preview: CommitStatus(context=preview, state=StatusState.PENDING)}
    gates(PROMOTED)
    gates.flush()
    assert forge.merged == []  # the target's preview is not green yet
    assert gates._recheck() is not None  # so it looks again later

    forge.merge(1, sha=HEAD_COMMIT)  # a person merges it meanwhile
    forge.shown[HEAD_COMMIT][preview] = CommitStatus(context=preview, state=StatusState.SUCCESS)
    gates.flush()
    assert forge.merged == [1]
    assert gates._recheck() is None  # nothing waits any more
