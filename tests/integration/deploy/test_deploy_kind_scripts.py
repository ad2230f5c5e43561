"""The kind scripts say what they need, and stop with a clear message when it is missing.

They cannot run here (no Docker engine), but their prerequisite checks can: each
script is run by bash with a PATH that lacks some tools, and must exit non-zero,
naming every missing tool and where to get it, before touching anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
KIND = REPO / "e2e" / "kind"
NEEDS = {
    "up.sh": ("docker", "kind", "kubectl", "ssh-keygen"),
    "flow.sh": ("docker", "kubectl"),
    "down.sh": ("docker", "kind"),
}


def fake_tools(directory: Path, names: dict[str, str]) -> Path:
    """Executables that print nothing and exit with the given shell code."""
    directory.mkdir(exist_ok=True)
    for name, body in names.items():
        path = directory / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return directory


def run(script: str, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    assert bash is not None
    return subprocess.run(
        [bash, str(KIND / script), *args],
        env={"PATH": str(path), "HOME": os.environ.get("HOME", "/")},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("script", sorted(NEEDS))
def test_missing_tools_are_named_with_where_to_get_them(script: str, tmp_path: Path) -> None:
    state = REPO / ".kind"
    existed = state.exists()
    result = run(script, fake_tools(tmp_path / "bin", {}))
    assert result.returncode != 0
    for name in NEEDS[script]:
        assert f"required tool not found on PATH: {name} (install " in result.stderr, result.stderr
    assert result.stdout == ""
    assert state.exists() == existed, "the check must come before any side effect"


def test_only_the_missing_tools_are_named(tmp_path: Path) -> None:
    path = fake_tools(tmp_path / "bin", {"kubectl": "exit 0", "ssh-keygen": "exit 0"})
    result = run("up.sh", path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert "not found on PATH: docker (install Docker Engine" in lines[0]
    assert "not found on PATH: kind (install kind v0.20 or later: https://" in lines[1]


def test_a_docker_cli_without_an_engine_is_reported(tmp_path: Path) -> None:
    tools = {"docker": "exit 1", "kind": "exit 0", "kubectl": "exit 0", "ssh-keygen": "exit 0"}
    result = run("up.sh", fake_tools(tmp_path / "bin", tools))
    assert result.returncode != 0
    assert "docker is installed but its engine does not answer" in result.stderr, result.stderr


@pytest.mark.parametrize("script", sorted(NEEDS))
def test_help_says_what_is_needed(script: str, tmp_path: Path) -> None:
    result = run(script, fake_tools(tmp_path / "bin", {}), "--help")
    assert result.returncode == 0, result.stderr
    (needs,) = [line for line in result.stdout.splitlines() if line.startswith("Needs: ")]
    for name in NEEDS[script]:
        assert name in needs, needs
