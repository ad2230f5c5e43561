"""Agents as real subprocesses of `orchestrator agent`, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

_T = TypeVar("_T")
ORCHESTRATOR = Path(sys.executable).with_name("orchestrator")


class AgentProcess:
    """One `orchestrator agent` with settings from environment variables and a log file."""

    def __init__(self, *, name: str, settings: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.settings = dict(settings)
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, **extra_env: str) -> AgentProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}
        env.update(self.settings)
        env.update(extra_env)
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.name} {extra_env}\n".encode())
            self.proc = subprocess.Popen(
                [str(ORCHESTRATOR), "agent"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def eventually(
    what: str,
    check: Callable[[], _T | None],
    *,
    timeout: float = 120.0,
    interval: float = 0.5,
    logs: Callable[[], str] | None = None,
) -> _T:
    """Poll `check` until it returns something truthy; fail with the agents' logs."""
    deadline = time.monotonic() + timeout
    last: _T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    detail = f"\n--- agent logs ---\n{logs()[-6000:]}" if logs else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}{detail}")
