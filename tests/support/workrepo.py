"""A maintainer's side of the bus: a bare remote and a working clone driven by real git."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

_ENV = {
    "GIT_AUTHOR_NAME": "Maintainer",
    "GIT_AUTHOR_EMAIL": "maintainer@example.com",
    "GIT_COMMITTER_NAME": "Maintainer",
    "GIT_COMMITTER_EMAIL": "maintainer@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout.strip()


class WorkRepo:
    """A bare repository plus a clone in which tests commit, merge and push like people do."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "remote.git"
        self.work = root / "work"
        git("init", "--bare", "--initial-branch=main", str(self.bare), cwd=root)
        git("clone", "--quiet", str(self.bare), str(self.work), cwd=root)

    def commit(
        self,
        branch: str,
        files: Mapping[str, str | None],
        *,
        message: str,
        base: str | None = None,
        ssh_signing_key: Path | None = None,
    ) -> str:
        """Commit `files` (None deletes) on `branch` (created from `base` if new) and push.

        With `ssh_signing_key` the commit is signed as `git commit -S` with
        gpg.format=ssh does it.
        """
        self.fetch()
        if self.has_remote_branch(branch):
            git("checkout", "--quiet", "-B", branch, f"origin/{branch}", cwd=self.work)
        elif base is not None:
            git("checkout", "--quiet", "-B", branch, f"origin/{base}", cwd=self.work)
        else:
            git("checkout", "--quiet", "--orphan", branch, cwd=self.work)
            git("rm", "-rf", "--quiet", "--ignore-unmatch", ".", cwd=self.work)
        for path, content in files.items():
            target = self.work / path
            if content is None:
                git("rm", "--quiet", path, cwd=self.work)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            git("add", path, cwd=self.work)
        signing: tuple[str, ...] = ()
        if ssh_signing_key is not None:
            signing = ("-c", "gpg.format=ssh", "-c", f"user.signingkey={ssh_signing_key}")
        sign = ("-S",) if ssh_signing_key is not None else ()
        git(*signing, "commit", "--quiet", "--allow-empty", *sign, "-m", message, cwd=self.work)
        git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def merge(self, source: str, *, into: str, message: str | None = None) -> str:
        """Merge `source` into `into` with a merge commit, as a pull request host does."""
        self.fetch()
        git("checkout", "--quiet", "-B", into, f"origin/{into}", cwd=self.work)
        git(
            "merge",
            "--quiet",
            "--no-ff",
            "-m",
            message or f"Merge {source} into {into}",
            f"origin/{source}",
            cwd=self.work,
        )
        git("push", "--quiet", "origin", f"HEAD:refs/heads/{into}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def fetch(self) -> None:
        git(
            "fetch",
            "--quiet",
            "--prune",
            "origin",
            "+refs/heads/*:refs/remotes/origin/*",
            "+refs/notes/*:refs/notes/*",
            cwd=self.work,
        )

    def has_remote_branch(self, branch: str) -> bool:
        out = git("ls-remote", "--heads", str(self.bare), f"refs/heads/{branch}", cwd=self.work)
        return bool(out)

    def tip(self, branch: str) -> str:
        return git("rev-parse", f"refs/heads/{branch}", cwd=self.bare)

    def show(self, rev: str, path: str) -> str:
        return git("show", f"{rev}:{path}", cwd=self.bare)

    def trailers(self, rev: str) -> list[tuple[str, str]]:
        message = git("log", "-1", "--format=%B", rev, cwd=self.bare)
        parsed = subprocess.run(
            ["git", "interpret-trailers", "--parse"],
            input=message,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return [tuple(line.split(": ", 1)) for line in parsed.splitlines()]  # type: ignore[misc]

    def git_parents(self, rev: str) -> list[str]:
        return git("rev-list", "--parents", "-n", "1", rev, cwd=self.bare).split()[1:]

    def log(self, branch: str) -> list[str]:
        return git("rev-list", f"refs/heads/{branch}", cwd=self.bare).splitlines()

    def delete_branch(self, branch: str) -> None:
        git("push", "--quiet", "origin", f":refs/heads/{branch}", cwd=self.work)
