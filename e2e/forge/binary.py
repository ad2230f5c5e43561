"""Find or build the Gitea binary, cached outside the repository by version.

Gitea is a Go module whose go.mod carries `replace` directives, which
`go install pkg@version` refuses; so its source is fetched with `go mod download`,
copied somewhere writable and built there with `go build`. SQLite needs cgo.

Without the `bindata` tag Gitea reads its locales (`options/`) and templates
(`templates/`) from `STATIC_ROOT_PATH` at run time, so those two directories are
kept next to the binary: the cache entry is self-contained and the front end is
never built (the API does not need it).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

GITEA_MODULE = "code.gitea.io/gitea"
GITEA_VERSION = "v1.27.3"
_STATIC_DIRS = ("options", "templates")


class BuildError(RuntimeError):
    """The Gitea binary could not be found or built; the message says why."""


@dataclass(frozen=True)
class GiteaBinary:
    """A built Gitea and the directory it reads its locales and templates from."""

    executable: Path
    static_root: Path


def cache_root() -> Path:
    """Where built binaries live: never inside the repository (shared with the control plane)."""
    explicit = os.environ.get("ORCHESTRATOR_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "orchestrator"


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError("the Go toolchain ('go') is not on PATH; it is needed to build Gitea")
    return go


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], what: str) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-30:])
        raise BuildError(f"{what} failed ({' '.join(cmd)}):\n{tail}")
    return proc.stdout


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise builds between processes (parallel test runs share one cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(dest: Path, *, progress: Callable[[str], None]) -> None:
    go = _go()
    env = dict(os.environ)
    env["CGO_ENABLED"] = "1"
    env.pop("GOFLAGS", None)
    progress(f"downloading {GITEA_MODULE}@{GITEA_VERSION}")
    out = _run(
        [go, "mod", "download", "-json", f"{GITEA_MODULE}@{GITEA_VERSION}"],
        cwd=dest,
        env=env,
        what="go mod download",
    )
    module_dir = Path(json.loads(out)["Dir"])
    src = cache_root() / "src" / f"gitea-{GITEA_VERSION}"
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(module_dir, src)
    for path in [src, *src.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
    progress("go build gitea (first run only; takes minutes)")
    tmp = dest / ".gitea.tmp"
    _run(
        [go, "build", "-trimpath", "-tags", "sqlite sqlite_unlock_notify", "-o", str(tmp), "."],
        cwd=src,
        env=env,
        what="building gitea",
    )
    static = dest / "static"
    if static.exists():
        shutil.rmtree(static)
    for name in _STATIC_DIRS:
        shutil.copytree(src / name, static / name)
    tmp.rename(dest / "gitea")
    shutil.rmtree(src, ignore_errors=True)


def _stderr_progress(message: str) -> None:
    print(f"forge: {message}", file=sys.stderr, flush=True)


def ensure_gitea(*, progress: Callable[[str], None] = _stderr_progress) -> GiteaBinary:
    """Return the cached Gitea, building it on first use."""
    dest = cache_root() / "bin" / f"gitea-{GITEA_VERSION}"
    binary = GiteaBinary(executable=dest / "gitea", static_root=dest / "static")
    if not binary.executable.exists():
        dest.mkdir(parents=True, exist_ok=True)
        with _locked(dest / ".lock"):
            if not binary.executable.exists():
                _build(dest, progress=progress)
    return binary
