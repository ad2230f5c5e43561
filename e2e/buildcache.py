"""What the Go-built test binaries share: one cache outside the repository, a build lock, `go` runs.

The control plane (`e2e.controlplane`) and the forge (`e2e.forge`) are built from
their Go modules into the same cache, keyed by version, so a machine builds each
once whatever runs first.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class BuildError(RuntimeError):
    """A binary could not be found or built; the message says which and why."""


def cache_root() -> Path:
    """Where built binaries live: never inside the repository."""
    explicit = os.environ.get("ORCHESTRATOR_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "orchestrator"


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], what: str) -> str:
    """Run one build step; BuildError with the last lines of its output when it fails."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-30:])
        raise BuildError(f"{what} failed ({' '.join(cmd)}):\n{tail}")
    return proc.stdout


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Serialise builds between processes (parallel test runs share one cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
