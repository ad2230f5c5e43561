"""Which files of a commit's tree are the delivery's manifests.

A file is a manifest when it lies under the delivery's root, ends in `.yaml`,
`.yml` or `.json`, is not hidden, and no `.orchestratorignore` excludes it.

- Hidden files and directories (any path component starting with `.`) are
  never manifests: `.github/` workflows, `.orchestrator/` parameter files and
  editor leftovers are YAML too, and must not reach a cluster.
- `.orchestratorignore` files use gitignore syntax (via `pathspec`), each
  relative to its own directory, in any directory under the root. As in git,
  the deepest file with a matching pattern decides, the last matching pattern
  in a file wins, and a file inside an ignored directory cannot be re-included
  by a negation (`build/` then `!build/keep.yaml` keeps it ignored; write
  `build/*` to be able to re-include).
- `.orchestratorignore` files above the root do not apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from posixpath import normpath

import pathspec

from orchestrator.errors import ManifestError, ManifestLimitExceeded, ManifestParseError
from orchestrator.manifests.limits import Limits

IGNORE_FILE = ".orchestratorignore"
EXTENSIONS = (".yaml", ".yml", ".json")


def normalize_root(root: str) -> str:
    """`root` as a repo-relative directory without slashes at either end ("" for the top).

    A leading slash means the top of the repository, as `./` does; `..` may not leave it.
    """
    stripped = root.strip("/")
    if not stripped or stripped == ".":
        return ""
    clean = normpath(stripped)
    if clean == ".." or clean.startswith("../"):
        raise ManifestError(
            "the delivery root must be a directory inside the repository", path=root
        )
    return "" if clean == "." else clean


def manifest_files(
    files: Mapping[str, bytes], *, root: str, limits: Limits
) -> tuple[dict[str, bytes], list[ManifestError]]:
    """The manifest files under `root`, sorted by path, and problems with ignore files.

    An ignore file that cannot be read is reported, and its directory's files
    are left out rather than applied against the author's intent.
    """
    base = normalize_root(root)
    prefix = f"{base}/" if base else ""
    relative = {path[len(prefix) :]: path for path in files if path.startswith(prefix)}

    specs: dict[str, pathspec.GitIgnoreSpec] = {}
    broken: list[str] = []
    problems: list[ManifestError] = []
    for rel, full in relative.items():
        directory, _, name = rel.rpartition("/")
        if name != IGNORE_FILE:
            continue
        try:
            specs[directory] = _read_ignore(files[full], path=full, limits=limits)
        except ManifestError as exc:
            problems.append(exc)
            broken.append(directory)

    selected: dict[str, bytes] = {}
    for rel in sorted(relative):
        parts = rel.split("/")
        if not rel.endswith(EXTENSIONS) or any(p.startswith(".") or not p for p in parts):
            continue
        if any(_under(rel, directory) for directory in broken):
            continue
        if _ignored(parts, specs):
            continue
        full = relative[rel]
        selected[full] = files[full]
    return selected, problems


def _read_ignore(data: bytes, *, path: str, limits: Limits) -> pathspec.GitIgnoreSpec:
    if len(data) > limits.max_file_bytes:
        raise ManifestLimitExceeded(
            f"is {len(data):,} bytes, over the limit of {limits.max_file_bytes:,}", path=path
        )
    try:
        lines = data.decode("utf-8-sig").splitlines()
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestParseError(f"not a valid ignore file: {exc}", path=path) from None


def _under(rel: str, directory: str) -> bool:
    return not directory or rel.startswith(f"{directory}/")


def _ignored(parts: list[str], specs: Mapping[str, pathspec.GitIgnoreSpec]) -> bool:
    """Git's rule: an ignored directory hides everything in it; else the file's own verdict."""
    for depth in range(1, len(parts)):
        if _verdict(parts[:depth], specs, is_dir=True):
            return True
    return _verdict(parts, specs, is_dir=False)


def _verdict(
    parts: list[str], specs: Mapping[str, pathspec.GitIgnoreSpec], *, is_dir: bool
) -> bool:
    """Ask the enclosing directories' ignore files, deepest first; the first that knows wins."""
    for depth in range(len(parts) - 1, -1, -1):
        spec = specs.get("/".join(parts[:depth]))
        if spec is None:
            continue
        candidate = "/".join(parts[depth:]) + ("/" if is_dir else "")
        include = spec.check_file(candidate).include
        if include is not None:
            return include
    return False
