"""Hostile revisions, written into a real bare repository with real git.

What a person with push access (and no trusted key) can put on an
environment branch: huge blobs that compress to almost nothing, and so on.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_ENV = {
    "GIT_AUTHOR_NAME": "Intruder",
    "GIT_AUTHOR_EMAIL": "intruder@example.com",
    "GIT_COMMITTER_NAME": "Intruder",
    "GIT_COMMITTER_EMAIL": "intruder@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def _git(*args: str, cwd: Path, index: Path | None = None) -> str:
    extra = {"GIT_INDEX_FILE": str(index)} if index is not None else {}
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **_ENV, **extra},
        capture_output=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr.decode()}")
    return done.stdout.decode().strip()


def zero_blob(bare: Path, *, size: int, scratch: Path) -> str:
    """Write a blob of `size` zero bytes into `bare`; its id. git streams it, so this is cheap."""
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / "zeros"
    with path.open("wb") as handle:
        handle.truncate(size)  # sparse: no disk or memory spent on the zeros
    try:
        return _git("hash-object", "-w", str(path), cwd=bare)
    finally:
        path.unlink()


def commit_with_blob(bare: Path, *, branch: str, path: str, blob: str, message: str) -> str:
    """A commit on `branch` whose tree is the tip's plus `path` -> `blob`; pushed by ref update."""
    tip = _git("rev-parse", f"refs/heads/{branch}", cwd=bare)
    index = bare / f"hostile-index-{os.getpid()}"
    try:
        _git("read-tree", tip, cwd=bare, index=index)
        _git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", cwd=bare, index=index)
        tree = _git("write-tree", cwd=bare, index=index)
    finally:
        index.unlink(missing_ok=True)
    commit = _git("commit-tree", tree, "-p", tip, "-m", message, cwd=bare)
    _git("update-ref", f"refs/heads/{branch}", commit, tip, cwd=bare)
    return commit
