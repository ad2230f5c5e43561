"""A control plane that cannot start fails the run in CI, and only skips outside it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from e2e.controlplane.binaries import ALL_BINARIES

REPO = Path(__file__).resolve().parents[3]
PROBE = Path(__file__).with_name("probe_needs_cluster.py")


def _run_probe(tmp_path: Path, *, ci: bool) -> subprocess.CompletedProcess[str]:
    # Binaries that refuse to start stand in for a machine where the control plane
    # cannot run; an empty cache dir makes sure nothing real is picked up instead.
    assets = tmp_path / "assets"
    assets.mkdir(exist_ok=True)
    for name in ALL_BINARIES:
        binary = assets / name
        binary.write_text("#!/bin/sh\necho 'cannot start here' >&2\nexit 1\n")
        binary.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(KUBEBUILDER_ASSETS=str(assets), ORCHESTRATOR_CACHE_DIR=str(tmp_path / "cache"))
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(PROBE)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_ci_run_fails_when_control_plane_cannot_start(tmp_path: Path) -> None:
    result = _run_probe(tmp_path, ci=True)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    # The fixture fails, so pytest reports the test as an error: the run is red.
    assert "1 error" in output
    assert "skipped" not in output
    assert "required in CI but unavailable" in output
    assert "cannot start here" in output


def test_local_run_skips_with_the_reason(tmp_path: Path) -> None:
    result = _run_probe(tmp_path, ci=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "1 skipped" in output
