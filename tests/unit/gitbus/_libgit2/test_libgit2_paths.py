"""Paths inside a tree are checked as plain values before libgit2 sees them."""

from __future__ import annotations

import pytest

from orchestrator.errors import UnsafePath
from orchestrator.gitbus._libgit2.paths import TreeChange, nest, safe_parts


def test_nesting_groups_changes_by_directory() -> None:
    change = nest({"a.txt": b"a", "d/b.txt": b"b", "d/e/c.txt": None, "d/f.txt": b"f"})
    assert change == TreeChange(
        files={"a.txt": b"a"},
        dirs={
            "d": TreeChange(
                files={"b.txt": b"b", "f.txt": b"f"},
                dirs={"e": TreeChange(files={"c.txt": None})},
            )
        },
    )
    assert nest({}) == TreeChange()


@pytest.mark.parametrize(
    "path",
    ["", "/abs", "a//b", "a/./b", "a/../b", "..", "dir/", "a\\b", "a\0b", ".git/config", "x/.GIT"],
)
def test_nesting_refuses_paths_git_would_refuse(path: str) -> None:
    with pytest.raises(ValueError, match="invalid path"):
        nest({path: b"x"})


def test_nesting_refuses_a_path_that_is_file_and_directory() -> None:
    with pytest.raises(ValueError, match="conflicts with a file change"):
        nest({"a": b"file", "a/b": b"below"})
    with pytest.raises(ValueError, match="conflicts with a directory change"):
        nest({"a/b": b"below", "a": b"file"})
    with pytest.raises(ValueError, match="conflicts with a directory change"):
        nest({"a/b": None, "a": None})


def test_safe_parts_stay_inside_the_repository() -> None:
    assert safe_parts("", remote="r") == []
    assert safe_parts(".", remote="r") == []
    assert safe_parts("apps/./web", remote="r") == ["apps", "web"]
    assert safe_parts("apps/web/", remote="r") == ["apps", "web"]
    for bad in ("/etc", "../x", "a/../../b", "a\\b", "a\0b"):
        with pytest.raises(UnsafePath) as info:
            safe_parts(bad, remote="https://git.example.com/r.git")
        assert info.value.remote == "https://git.example.com/r.git"
