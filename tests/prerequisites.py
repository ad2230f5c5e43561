"""What a test does when something it needs is missing: skip locally, fail in CI."""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Never returns. In CI (CI=true) a missing prerequisite is a failure, not a skip."""
    if in_ci():
        pytest.fail(f"required in CI but unavailable: {reason}", pytrace=False)
    pytest.skip(f"unavailable: {reason}")


def require_command(name: str) -> str:
    """The path of an executable the test needs."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"command {name!r} is not on PATH")
    assert path is not None
    return path
