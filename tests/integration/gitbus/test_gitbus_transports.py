"""Poll, read, commit, push and notes against real bare repositories on every transport."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from orchestrator.errors import BranchNotFound, PushRejected
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity, NoteEntry
from orchestrator.gitbus.repo import CacheRepo, RefChange
from orchestrator.gitbus.trailers import DeliveryTrailers
from tests.integration.gitbus.gitbus_servers import Remote, git

AGENT = Identity("Agent Dev", "agent-dev@example.com", datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
DEV = protocol.env_branch("dev")


def commit_files(
    cache: CacheRepo, tip: str | None, files: dict[str, bytes | None], subject: str
) -> str:
    return cache.create_commit(parent=tip, subject=subject, author=AGENT, changes=files)


def test_push_poll_read_roundtrip(remote: Remote) -> None:
    writer = remote.cache("writer")
    reader = remote.cache("reader")
    assert reader.poll([DEV]).changes == {}

    trailers = DeliveryTrailers(delivery="feature-x", health="3/3 healthy").pairs()

    def build(tip: str | None) -> str:
        return writer.create_commit(
            parent=tip,
            subject="Deliver feature-x",
            body="Adds the app manifests.",
            author=AGENT,
            trailers=trailers,
            changes={"deploy/app.yaml": b"kind: Deployment\n", "deploy/cfg/a.json": b"{}"},
        )

    result = writer.push_with_retry(ref=DEV, rebuild=build)
    assert result.pushed
    assert result.attempts == 1
    assert git("rev-parse", DEV, cwd=remote.path).stdout.decode().strip() == result.commit

    polled = reader.poll([DEV])
    assert polled.changes == {DEV: RefChange(old=None, new=result.commit)}
    assert reader.read_files(DEV, directory="deploy") == {
        "app.yaml": b"kind: Deployment\n",
        "cfg/a.json": b"{}",
    }
    info = reader.commit_info(DEV)
    assert info.trailers == tuple(trailers)
    assert DeliveryTrailers.from_message(info.message).delivery == "feature-x"
    assert info.author.email == AGENT.email
    assert info.author.when == AGENT.when

    fetch_head = reader.path / "FETCH_HEAD"
    fetched_at = fetch_head.stat().st_mtime_ns
    again = reader.poll([DEV])
    assert not again.changed
    assert again.tips == {DEV: result.commit}
    assert fetch_head.stat().st_mtime_ns == fetched_at  # nothing moved: nothing fetched


def test_second_push_of_the_same_tree_is_a_noop(remote: Remote) -> None:
    cache = remote.cache()
    files: dict[str, bytes | None] = {"a.txt": b"same"}
    first = cache.push_with_retry(
        ref=DEV, rebuild=lambda tip: commit_files(cache, tip, files, "one")
    )
    second = cache.push_with_retry(
        ref=DEV, rebuild=lambda tip: commit_files(cache, tip, files, "replayed")
    )
    assert first.pushed
    assert not second.pushed
    assert second.commit == first.commit
    log = git("rev-list", DEV, cwd=remote.path).stdout.split()
    assert len(log) == 1


def test_stale_expected_tip_is_rejected(remote: Remote) -> None:
    alice, bob = remote.cache("alice"), remote.cache("bob")
    base = alice.push_with_retry(
        ref=DEV, rebuild=lambda t: commit_files(alice, t, {"a": b"1"}, "a")
    )
    bob.poll([DEV])
    alice.push_with_retry(ref=DEV, rebuild=lambda t: commit_files(alice, t, {"a": b"2"}, "a2"))
    stale = commit_files(bob, base.commit, {"b": b"1"}, "b")
    with pytest.raises(PushRejected):
        bob.push(ref=DEV, expected=base.commit, new=stale)
    # the ref creation race: expecting "absent" when it exists is rejected too
    fresh = commit_files(bob, None, {"c": b"1"}, "c")
    with pytest.raises(PushRejected):
        bob.push(ref=DEV, expected=None, new=fresh)


def test_push_with_retry_rebuilds_on_the_new_tip(remote: Remote) -> None:
    alice, bob = remote.cache("alice"), remote.cache("bob")
    alice.push_with_retry(ref=DEV, rebuild=lambda t: commit_files(alice, t, {"a": b"1"}, "a"))
    seen: list[str | None] = []

    def build(tip: str | None) -> str:
        seen.append(tip)
        if len(seen) == 1:  # someone else wins the race between our read and our push
            alice.push_with_retry(
                ref=DEV, rebuild=lambda t: commit_files(alice, t, {"rival": b"x"}, "rival")
            )
        return commit_files(bob, tip, {"bob": b"y"}, "bob")

    result = bob.push_with_retry(ref=DEV, rebuild=build)
    assert result.pushed
    assert result.attempts == 2
    assert seen[0] != seen[1]
    subjects = git("log", "--format=%s", DEV, cwd=remote.path).stdout.decode().split()
    assert subjects == ["bob", "rival", "a"]


def test_a_lost_race_is_logged_and_told_to_the_hook(
    remote: Remote, caplog: pytest.LogCaptureFixture
) -> None:
    alice, bob = remote.cache("alice"), remote.cache("bob")
    alice.push_with_retry(ref=DEV, rebuild=lambda t: commit_files(alice, t, {"a": b"1"}, "a"))
    lost: list[tuple[str, int]] = []
    bob.on_lost_race = lambda ref, attempt: lost.append((ref, attempt))
    rivals = iter(["r1", "r2"])

    def build(tip: str | None) -> str:
        rival = next(rivals, None)
        if rival is not None:  # another writer moves the ref between our read and our push
            alice.push_with_retry(
                ref=DEV, rebuild=lambda t: commit_files(alice, t, {rival: b"x"}, rival)
            )
        return commit_files(bob, tip, {"bob": b"y"}, "bob")

    with caplog.at_level(logging.INFO, logger="orchestrator.gitbus"):
        result = bob.push_with_retry(ref=DEV, rebuild=build)
    assert result.attempts == 3
    assert lost == [(DEV, 1), (DEV, 2)]
    lines = [r.getMessage() for r in caplog.records if "compare-and-swap lost" in r.getMessage()]
    assert len(lines) == 2
    assert all(DEV in line for line in lines)


def test_watch_glob_and_unwatched_refs(remote: Remote, cli_env: dict[str, str]) -> None:
    writer, reader = remote.cache("writer"), remote.cache("reader")
    staging_x = protocol.feature_branch("staging", "x")
    prod = protocol.env_branch("prod")
    for ref in (staging_x, prod):
        writer.push_with_retry(
            ref=ref, rebuild=lambda t, r=ref: commit_files(writer, t, {r: b"1"}, "c")
        )
    polled = reader.poll([protocol.feature_glob("staging")])
    assert set(polled.changes) == {staging_x}
    assert reader.local_tip(prod) is None
    prod_tip = writer.local_tip(prod)
    assert prod_tip is not None
    if remote.kind not in ("path", "file"):  # libgit2's local transport copies more
        with pytest.raises(BranchNotFound):
            reader.read_files(prod_tip)  # never fetched: not in the cache

    # a deleted branch disappears from the cache on the next poll
    git("update-ref", "-d", staging_x, cwd=remote.path, env=cli_env)
    gone = reader.poll([protocol.feature_glob("staging")])
    assert gone.changes[staging_x].new is None
    assert reader.local_tip(staging_x) is None


def test_missing_branch(remote: Remote) -> None:
    cache = remote.cache()
    with pytest.raises(BranchNotFound) as info:
        cache.fetch([protocol.env_branch("nope")])
    assert info.value.remote == cache.remote
    with pytest.raises(BranchNotFound):
        cache.read_files(protocol.env_branch("nope"))


def test_notes_roundtrip_and_merge(remote: Remote, cli_env: dict[str, str]) -> None:
    alice, bob = remote.cache("alice"), remote.cache("bob")
    delivered = alice.push_with_retry(
        ref=DEV, rebuild=lambda t: commit_files(alice, t, {"a": b"1"}, "a")
    )
    assert delivered.commit is not None
    applied = NoteEntry(
        id="e1",
        at="2024-05-01T12:00:00Z",
        agent="dev",
        phase="applied",
        fields={"objects": ["Deployment/default/app"]},
    )
    healthy = NoteEntry(id="e2", at="2024-05-01T12:01:00Z", agent="dev", phase="healthy")
    alice.add_note(env="dev", commit=delivered.commit, entries=[applied], author=AGENT)
    # bob has not seen alice's note; his write must merge, not replace
    bob.add_note(env="dev", commit=delivered.commit, entries=[healthy], author=AGENT)

    alice.poll([protocol.NOTES_GLOB])
    doc = alice.read_note(env="dev", commit=delivered.commit)
    assert doc is not None
    assert [e.id for e in doc.entries] == ["e1", "e2"]
    assert doc.latest() == healthy

    again = alice.add_note(env="dev", commit=delivered.commit, entries=[applied], author=AGENT)
    assert not again.pushed

    shown = git(
        "notes", "--ref=orchestrator/dev", "show", delivered.commit, cwd=remote.path, env=cli_env
    ).stdout.decode()
    assert protocol.parse_note(shown) == doc
    assert alice.list_notes(env="dev") == {delivered.commit: doc}
