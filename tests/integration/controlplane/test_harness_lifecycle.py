"""Every process the harness starts is stopped: on Ctrl-C, on `down`, even on SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from e2e.controlplane import ensure_binaries
from tests.prerequisites import unavailable
from tests.support.signals import default_sigint

REPO = Path(__file__).resolve().parents[3]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _pids(directory: Path) -> list[int]:
    state = json.loads((directory / "controlplane.json").read_text())
    return [pid for info in state.values() for pid in info["pids"].values()]


def _wait_gone(pids: list[int], timeout: float = 20.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if _alive(p)]
        if not alive:
            return []
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


def _start_up(directory: Path, *extra: str) -> subprocess.Popen[str]:
    try:
        ensure_binaries()
    except Exception as exc:  # noqa: BLE001 - reported through unavailable()
        unavailable(f"control plane binaries: {exc}")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "e2e.controlplane",
            "up",
            "--clusters",
            "solo",
            "--dir",
            str(directory),
            *extra,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=default_sigint,  # noqa: PLW1509 - one signal() call before exec
    )


def _read_until(proc: subprocess.Popen[str], marker: str, timeout: float = 120.0) -> str:
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    proc.kill()
    pytest.fail(f"did not see {marker!r}; output:\n{''.join(seen)}")


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["interrupt", "sigkill"])
def test_up_leaves_no_process_behind(tmp_path: Path, how: signal.Signals) -> None:
    proc = _start_up(tmp_path)
    try:
        output = _read_until(proc, "running; press Ctrl-C")
        assert "solo" in output
        assert (tmp_path / "solo.kubeconfig").exists()
        pids = _pids(tmp_path)
        assert len(pids) == 5
        assert all(_alive(p) for p in pids)
        proc.send_signal(how)
        proc.wait(timeout=60)
        if how == signal.SIGINT:
            assert proc.returncode == 0
        assert _wait_gone(pids) == []
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
def test_detach_then_down(tmp_path: Path) -> None:
    proc = _start_up(tmp_path, "--detach")
    output, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, output
    pids = _pids(tmp_path)
    try:
        assert all(_alive(p) for p in pids), "detached clusters must outlive the command"
        down = subprocess.run(
            [sys.executable, "-m", "e2e.controlplane", "down", "--dir", str(tmp_path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert down.returncode == 0, down.stderr
        assert "stopped: solo" in down.stdout
        assert _wait_gone(pids) == []
        assert not (tmp_path / "controlplane.json").exists()
    finally:
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
