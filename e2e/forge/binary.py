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

import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from e2e.buildcache import BuildError, cache_root, locked, run

GITEA_MODULE = "code.gitea.io/gitea"
GITEA_VERSION = "v1.27.3"
_STATIC_DIRS = ("options", "templates")


@dataclass(frozen=True)
class GiteaBinary:
    """A built Gitea and the directory it reads its locales and templates from."""

    executable: Path
    static_root: Path


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError("the Go toolchain ('go') is not on PATH; it is needed to build Gitea")
    return go


def _build(dest: Path, *, progress: Callable[[str], None]) -> None:
    go = _go()
    env = dict(os.environ)
    env["CGO_ENABLED"] = "1"
    env.pop("GOFLAGS", None)
    progress(f"downloading {GITEA_MODULE}@{GITEA_VERSION}")
    out = run(
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
    run(
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
        with locked(dest / ".lock"):
            if not binary.executable.exists():
                _build(dest, progress=progress)
    return binary
