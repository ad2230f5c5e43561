"""Paths inside a tree, checked as plain values before libgit2 sees them.

A directory to read or to merge must stay inside the repository, and a tree
change must name files the way git does (no empty, `.`, `..` or `.git`
component): a path git would refuse, or that would leave the checkout, never
reaches the object database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from orchestrator.errors import UnsafePath


def safe_parts(directory: str, *, remote: str) -> list[str]:
    """The components of a directory below the root; "" and "." are the root itself."""
    if directory in ("", "."):
        return []
    path = PurePosixPath(directory)
    parts = [p for p in path.parts if p != "."]
    if path.is_absolute() or ".." in parts or "\\" in directory or "\0" in directory:
        raise UnsafePath(f"directory {directory!r} leaves the repository", remote=remote)
    return parts


@dataclass
class TreeChange:
    """Changes to one directory: file name -> new content (None deletes), and subdirectories."""

    files: dict[str, bytes | None] = field(default_factory=dict)
    dirs: dict[str, TreeChange] = field(default_factory=dict)


def nest(changes: Mapping[str, bytes | None]) -> TreeChange:
    """Flat `path -> content or None` changes as one TreeChange per directory.

    ValueError for a path git would refuse, or where one change makes a path a
    file and another a directory.
    """
    root = TreeChange()
    for path, content in changes.items():
        parts = path.split("/")
        if (
            not path
            or path.startswith("/")
            or any(p in ("", ".", "..") or "\0" in p or "\\" in p for p in parts)
            or any(p.lower() == ".git" for p in parts)
        ):
            raise ValueError(f"invalid path in tree change: {path!r}")
        node = root
        for part in parts[:-1]:
            if part in node.files:
                raise ValueError(f"{path!r} conflicts with a file change")
            node = node.dirs.setdefault(part, TreeChange())
        if parts[-1] in node.dirs:
            raise ValueError(f"{path!r} conflicts with a directory change")
        node.files[parts[-1]] = content
    return root
