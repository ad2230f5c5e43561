"""Reading a revision refuses missing objects, symlinks, submodules and escaping names."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import (
    RepositoryCorrupt,
    UnsafePath,
)
from tests.integration.gitbus.gitbus_seed import AGENT, DEV
from tests.integration.gitbus.gitbus_servers import (
    RemoteFactory,
    git,
)


def test_missing_object_inside_a_commit(make_remote: RemoteFactory) -> None:
    remote = make_remote("path")
    cache = remote.cache("c")
    commit = cache.create_commit(
        parent=None, subject="x", author=AGENT, changes={"d/f.txt": b"unique content 81723"}
    )
    blob_sha = git("hash-object", "--stdin", stdin=b"unique content 81723").stdout.decode().strip()
    (cache.path / "objects" / blob_sha[:2] / blob_sha[2:]).unlink()
    with pytest.raises(RepositoryCorrupt):
        cache.read_files(commit)


def make_tree(cwd: Path, entries: list[tuple[str, str, str, str]]) -> str:
    lines = "".join(f"{mode} {kind} {sha}\t{name}\n" for mode, kind, sha, name in entries)
    return git("mktree", cwd=cwd, stdin=lines.encode()).stdout.decode().strip()


def test_symlinks_submodules_and_escapes_are_refused(
    make_remote: RemoteFactory, cli_env: dict[str, str]
) -> None:
    remote = make_remote("path")
    repo = remote.path
    blob = git("hash-object", "-w", "--stdin", cwd=repo, stdin=b"data").stdout.decode().strip()
    target = (
        git("hash-object", "-w", "--stdin", cwd=repo, stdin=b"/etc/passwd").stdout.decode().strip()
    )
    link_dir = make_tree(
        repo, [("100644", "blob", blob, "ok.yaml"), ("120000", "blob", target, "evil.yaml")]
    )
    module_dir = make_tree(repo, [("160000", "commit", blob.replace(blob[0], "a", 1), "sub")])
    clean_dir = make_tree(repo, [("100644", "blob", blob, "ok.yaml")])
    root = make_tree(
        repo,
        [
            ("040000", "tree", link_dir, "linked"),
            ("040000", "tree", module_dir, "module"),
            ("040000", "tree", clean_dir, "clean"),
            ("120000", "blob", target, "alias"),
            ("100644", "blob", blob, "file.txt"),
        ],
    )
    commit = (
        git("commit-tree", root, "-m", "crafted", cwd=repo, env=cli_env).stdout.decode().strip()
    )
    git("update-ref", DEV, commit, cwd=repo, env=cli_env)
    cache = remote.cache()
    cache.poll([DEV])
    assert cache.read_files(DEV, directory="clean") == {"ok.yaml": b"data"}
    for directory in (
        "linked",
        "module",
        "",
        "alias",
        "file.txt",
        "../clean",
        "/clean",
        "clean/../linked",
    ):
        with pytest.raises(UnsafePath):
            cache.read_files(DEV, directory=directory)
    assert cache.read_files(DEV, directory="absent") == {}

    # an entry named ".." can only be made by writing the tree object by hand
    raw = b"100644 ..\0" + bytes.fromhex(blob)
    dotdot = git("hash-object", "-t", "tree", "-w", "--literally", "--stdin", cwd=repo, stdin=raw)
    escape_root = make_tree(repo, [("040000", "tree", dotdot.stdout.decode().strip(), "deploy")])
    escape = (
        git("commit-tree", escape_root, "-m", "escape", cwd=repo, env=cli_env)
        .stdout.decode()
        .strip()
    )
    git("update-ref", DEV, escape, cwd=repo, env=cli_env)
    cache.poll([DEV])
    with pytest.raises(UnsafePath):
        cache.read_files(DEV, directory="deploy")
