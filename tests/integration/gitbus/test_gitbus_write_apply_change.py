"""One delivery's change onto another branch: a three-way merge of trees, within paths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.errors import MergeConflict
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo
from tests.integration.gitbus.gitbus_servers import RemoteFactory

AUTHOR = Identity("Author", "author@example.com", datetime(2024, 5, 1, 12, 0, tzinfo=UTC))


def _commit(cache: CacheRepo, parent: str | None, changes: dict[str, bytes | None]) -> str:
    return cache.create_commit(parent=parent, subject="c", author=AUTHOR, changes=changes)


def _files_of_tree(cache: CacheRepo, onto: str, tree: str) -> dict[str, bytes]:
    commit = cache.create_commit(parent=onto, subject="t", author=AUTHOR, base_tree=tree)
    return cache.read_files(commit)


def test_only_the_change_of_one_delivery_travels(make_remote: RemoteFactory) -> None:
    cache = make_remote("path").cache()
    # The source environment: a, then feature-a, then feature-b on top.
    base = _commit(cache, None, {"manifests/common.yaml": b"c1", "policy": b"staging"})
    with_a = _commit(cache, base, {"manifests/a.yaml": b"a"})
    with_b = _commit(cache, with_a, {"manifests/b.yaml": b"b", "manifests/common.yaml": b"c2"})
    # The target environment: its own policy and extra file, without feature-a.
    target = _commit(
        cache, None, {"manifests/common.yaml": b"c1", "manifests/t.yaml": b"t", "policy": b"prod"}
    )

    tree = cache.apply_change(base=with_a, head=with_b, onto=target, paths=["manifests"])
    assert _files_of_tree(cache, target, tree) == {
        "manifests/common.yaml": b"c2",
        "manifests/t.yaml": b"t",
        "manifests/b.yaml": b"b",
        "policy": b"prod",  # outside the promoted paths: the target's own
    }
    # Applied again on its own result, the change changes nothing: a replay is a no-op.
    again = cache.create_commit(parent=target, subject="p", author=AUTHOR, base_tree=tree)
    assert cache.apply_change(base=with_a, head=with_b, onto=again, paths=["manifests"]) == tree


def test_deletions_and_a_root_commit(make_remote: RemoteFactory) -> None:
    cache = make_remote("path").cache()
    root = _commit(cache, None, {"manifests/x.yaml": b"x", "manifests/sub/y.yaml": b"y"})
    target = _commit(cache, None, {"other": b"o"})
    tree = cache.apply_change(base=None, head=root, onto=target, paths=["manifests/"])
    assert _files_of_tree(cache, target, tree) == {
        "other": b"o",
        "manifests/x.yaml": b"x",
        "manifests/sub/y.yaml": b"y",
    }
    onto = cache.create_commit(parent=target, subject="p", author=AUTHOR, base_tree=tree)
    removed = _commit(cache, root, {"manifests/sub/y.yaml": None})
    tree = cache.apply_change(base=root, head=removed, onto=onto, paths=["manifests"])
    assert _files_of_tree(cache, onto, tree) == {"other": b"o", "manifests/x.yaml": b"x"}


def test_a_conflict_names_its_paths_and_writes_nothing(make_remote: RemoteFactory) -> None:
    cache = make_remote("path").cache()
    base = _commit(cache, None, {"manifests/shared.yaml": b"staging\n"})
    change = _commit(cache, base, {"manifests/shared.yaml": b"changed\n", "manifests/n": b"n"})
    target = _commit(cache, None, {"manifests/shared.yaml": b"production's own\n"})
    with pytest.raises(MergeConflict) as raised:
        cache.apply_change(base=base, head=change, onto=target, paths=["manifests"])
    assert raised.value.paths == ("manifests/shared.yaml",)
    assert "manifests/shared.yaml" in str(raised.value)


def test_replacing_a_file_the_target_never_had_is_no_conflict(make_remote: RemoteFactory) -> None:
    cache = make_remote("path").cache()
    body = b"".join(b"line %d of a long enough manifest\n" % i for i in range(40))
    base = _commit(cache, None, {"manifests/app.yaml": body})
    # Replaced by a near copy under a new name: git would call that a rename.
    renamed = _commit(
        cache, base, {"manifests/app.yaml": None, "manifests/app2.yaml": body + b"x\n"}
    )
    target = _commit(cache, None, {"manifests/README": b"r"})
    tree = cache.apply_change(base=base, head=renamed, onto=target, paths=["manifests"])
    assert _files_of_tree(cache, target, tree) == {
        "manifests/README": b"r",
        "manifests/app2.yaml": body + b"x\n",
    }
