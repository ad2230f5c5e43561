"""Reading a checkout on disk the way the agent reads a commit (`CacheRepo.read_files`).

`orchestrator validate` and `orchestrator publish` read a working tree, not a
commit; they must refuse exactly what the agent would refuse once the same
files were pushed. So the rules are the same: only the files under the
directory asked for are read; a symlink anywhere below it refuses the read
(naming the link, never reading or echoing its target); and each file's size
is taken from its directory entry before a byte of it is read, against the
same `ReadLimits`, with the same words.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from orchestrator.errors import ReadLimitExceeded, UnsafePath
from orchestrator.gitbus.limits import ReadLimits, file_over_limit, read_over_limit

_SKIPPED = frozenset({".git"})  # a checkout's own Git directory is not part of its tree


def read_directory(root: Path, *, directory: str = "", limits: ReadLimits) -> dict[str, bytes]:
    """Files under `root/directory`, as {path relative to directory: bytes}.

    A missing directory reads as no files, as on a commit that lacks it.
    UnsafePath for a symlink, a special file or a directory that leaves `root`;
    ReadLimitExceeded before reading a file over `limits`.
    """
    parts = _safe_parts(directory)
    base = "/".join(parts)
    current = root
    for depth, part in enumerate(parts):
        current = current / part
        where = "/".join(parts[: depth + 1])
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return {}
        if stat.S_ISLNK(mode):
            raise UnsafePath(f"{where} is a symlink")
        if not stat.S_ISDIR(mode):
            raise UnsafePath(f"{where} is not a directory")
    files: dict[str, bytes] = {}
    _walk(current, prefix="", base=base, out=files, spent=[0], limits=limits)
    return files


def _walk(
    directory: Path,
    *,
    prefix: str,
    base: str,
    out: dict[str, bytes],
    spent: list[int],
    limits: ReadLimits,
) -> None:
    with os.scandir(directory) as entries:
        ordered = sorted(entries, key=lambda e: e.name)
    for entry in ordered:
        if not prefix and not base and entry.name in _SKIPPED:
            continue
        path = f"{prefix}{entry.name}"
        shown = f"{base}/{path}" if base else path
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            raise UnsafePath(f"{shown} is a symlink")
        if stat.S_ISDIR(info.st_mode):
            _walk(
                Path(entry.path), prefix=f"{path}/", base=base, out=out, spent=spent, limits=limits
            )
        elif stat.S_ISREG(info.st_mode):
            if info.st_size > limits.max_file_bytes:
                raise ReadLimitExceeded(
                    file_over_limit(info.st_size, limits.max_file_bytes), path=shown
                )
            spent[0] += info.st_size
            if spent[0] > limits.max_revision_bytes:
                raise ReadLimitExceeded(
                    read_over_limit(spent[0], limits.max_revision_bytes), path=shown
                )
            out[path] = _read_regular(Path(entry.path), limit=limits.max_file_bytes, shown=shown)
        else:
            raise UnsafePath(f"{shown} is a special file, not a regular file")


def _read_regular(path: Path, *, limit: int, shown: str) -> bytes:
    """The file's bytes, opened without following a link swapped in since it was listed."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:  # a link put in its place after listing: ELOOP
        raise UnsafePath(f"{shown} cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # grew since it was listed
        raise ReadLimitExceeded(file_over_limit(len(data), limit), path=shown)
    return data


def _safe_parts(directory: str) -> list[str]:
    if directory in ("", "."):
        return []
    path = PurePosixPath(directory)
    parts = [p for p in path.parts if p != "."]
    if path.is_absolute() or ".." in parts or "\\" in directory or "\0" in directory:
        raise UnsafePath(f"directory {directory!r} leaves the repository")
    return parts


class DirectoryTree:
    """A checkout read as a revision (`promote.revision.source.Tree`), under the agent's limits."""

    def __init__(self, root: Path, *, limits: ReadLimits | None = None) -> None:
        self.root = root
        self.limits = limits or ReadLimits()

    @property
    def label(self) -> str:
        return str(self.root)

    def read_files(self, directory: str) -> dict[str, bytes]:
        return read_directory(self.root, directory=directory, limits=self.limits)
