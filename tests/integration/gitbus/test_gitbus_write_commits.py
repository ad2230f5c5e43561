"""Tree changes, identities and trailers of the commits we write, checked with git itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from orchestrator.errors import BranchNotFound
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity
from tests.integration.gitbus.gitbus_servers import RemoteFactory, git

AUTHOR = Identity("Author", "author@example.com", datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
COMMITTER = Identity(
    "Agent", "agent@example.com", datetime(2024, 5, 2, 8, 30, tzinfo=timezone(timedelta(hours=2)))
)


def test_tree_changes_and_identities(make_remote: RemoteFactory) -> None:
    remote = make_remote("path")
    cache = remote.cache()
    first = cache.create_commit(
        parent=None,
        subject="first",
        author=AUTHOR,
        committer=COMMITTER,
        changes={"a/x.yaml": b"x", "a/b/y.yaml": b"y", "keep.txt": b"k"},
    )
    second = cache.create_commit(
        parent=first,
        subject="second",
        author=AUTHOR,
        changes={"a/b/y.yaml": None, "a/x.yaml": b"x2", "new/z": b"z", "absent": None},
    )
    assert cache.read_files(second) == {"a/x.yaml": b"x2", "keep.txt": b"k", "new/z": b"z"}
    third = cache.create_commit(
        parent=second, subject="third", author=AUTHOR, changes={"a/x.yaml": None}
    )
    assert cache.read_files(third) == {"keep.txt": b"k", "new/z": b"z"}  # empty a/ is gone
    replaced = cache.create_commit(
        parent=third,
        subject="back to first's tree",
        author=AUTHOR,
        base_tree=cache.commit_info(first).tree,
        changes={"extra": b"e"},
    )
    assert cache.read_files(replaced) == {
        "a/x.yaml": b"x",
        "a/b/y.yaml": b"y",
        "keep.txt": b"k",
        "extra": b"e",
    }
    cache.push(ref=protocol.env_branch("dev"), expected=None, new=replaced)

    shown = (
        git("log", "-1", "--format=%an <%ae> %aI|%cn <%ce> %cI", first, cwd=remote.path)
        .stdout.decode()
        .strip()
    )
    assert shown == (
        "Author <author@example.com> 2024-05-01T12:00:00+00:00|"
        "Agent <agent@example.com> 2024-05-02T08:30:00+02:00"
    )
    info = cache.commit_info(first)
    assert info.committer == COMMITTER
    assert cache.is_ancestor(first, replaced)
    assert not cache.is_ancestor(replaced, first)
    assert git("fsck", "--strict", cwd=remote.path).returncode == 0


def test_invalid_changes_and_revisions(make_remote: RemoteFactory) -> None:
    cache = make_remote("path").cache()
    for bad in (
        {"../x": b""},
        {"/abs": b""},
        {"a//b": b""},
        {".git/config": b""},
        {"a": b"", "a/b": b""},
    ):
        with pytest.raises(ValueError, match=r"invalid path|conflicts"):
            cache.create_commit(parent=None, subject="bad", author=AUTHOR, changes=bad)
    with pytest.raises(ValueError, match="object id"):
        cache.read_files("HEAD~1")
    with pytest.raises(BranchNotFound):
        cache.read_files("0" * 40)
