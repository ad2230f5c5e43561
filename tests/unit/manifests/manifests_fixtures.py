"""Fixture trees: a directory under fixtures/ stands for the files of a commit."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from orchestrator.manifests import Manifest

FIXTURES = Path(__file__).parent / "fixtures"


def tree(case: str) -> dict[str, bytes]:
    """Every file under fixtures/<case>, keyed by POSIX path relative to it (as Git gives them)."""
    base = FIXTURES / case
    return {
        path.relative_to(base).as_posix(): path.read_bytes()
        for path in sorted(base.rglob("*"))
        if path.is_file()
    }


def fixture(name: str) -> bytes:
    """The bytes of one fixture file."""
    return (FIXTURES / name).read_bytes()


def refs(manifests: Iterable[Manifest]) -> list[str]:
    """Kind/namespace/name of each manifest, in order."""
    return [str(m.ref) for m in manifests]
