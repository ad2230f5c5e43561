"""A throwaway Gitea on 127.0.0.1: one temp directory, one admin, one token.

Everything the instance writes (SQLite database, repositories, logs) lives under
its directory, so stopping it and deleting the directory leaves nothing behind.
Webhooks to loopback are allowed (Gitea refuses them by default), because the
tests' listeners run on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e.controlplane.cluster import free_port
from e2e.controlplane.process import ManagedProcess
from e2e.forge.binary import GiteaBinary

ADMIN_USER = "orchestrator"
ADMIN_EMAIL = "orchestrator@example.invalid"
_START_TIMEOUT = 60.0


class GiteaError(RuntimeError):
    """The instance did not come up or refused a setup call; the message carries its log tail."""


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    data: Any


class GiteaServer:
    """One running Gitea; `api_url` is the REST root, `token` an admin API token."""

    def __init__(self, *, binary: GiteaBinary, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = 0
        self.password = secrets.token_urlsafe(18)
        self.token = ""
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v1"

    def git_url(self, repository: str) -> str:
        """An HTTP clone URL with the admin's credentials in it (for test pushes)."""
        return f"http://{ADMIN_USER}:{self.password}@127.0.0.1:{self.port}/{repository}.git"

    def start(self) -> GiteaServer:
        """Write the configuration, create the admin, start `gitea web` and wait for it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.port == 0:
            self.port = free_port()
        config = self._write_config()
        if not (self.directory / "data" / "gitea.db").exists():
            self._gitea(config, "migrate")
            self._gitea(
                config,
                *("admin", "user", "create", "--admin", "--username", ADMIN_USER),
                *("--password", self.password, "--email", ADMIN_EMAIL),
                "--must-change-password=false",
            )
        self.process = ManagedProcess(
            name="gitea",
            argv=[str(self.binary.executable), "--config", str(config), "web"],
            log_path=self.directory / "gitea.log",
            detached=False,
            env=self._env(),
        )
        self._wait_ready()
        if not self.token:
            self.token = self._create_token()
        return self

    def stop(self) -> None:
        """Stop the process (the data stays, so `start` again resumes the same forge)."""
        if self.process is not None:
            self.process.stop()
            self.process = None

    def api(self, method: str, path: str, payload: Any = None) -> ApiAnswer:
        """A call as the admin (basic auth), for test setup; any status is returned."""
        credentials = base64.b64encode(f"{ADMIN_USER}:{self.password}".encode()).decode()
        headers = {"Authorization": f"Basic {credentials}", "Accept": "application/json"}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            self.api_url + path, data=body, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                raw = answer.read()
                status = answer.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        return ApiAnswer(status=status, data=json.loads(raw) if raw.strip() else None)

    def _write_config(self) -> Path:
        work = self.directory
        config = work / "app.ini"
        secret_key = (work / ".secret").read_text() if (work / ".secret").exists() else ""
        if not secret_key:
            secret_key = secrets.token_hex(32)
            (work / ".secret").write_text(secret_key)
        config.write_text(
            "\n".join(
                [
                    "I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true",
                    f"WORK_PATH = {work}",
                    "RUN_MODE = prod",
                    "[server]",
                    f"STATIC_ROOT_PATH = {self.binary.static_root}",
                    f"APP_DATA_PATH = {work / 'data'}",
                    "HTTP_ADDR = 127.0.0.1",
                    f"HTTP_PORT = {self.port}",
                    f"ROOT_URL = {self.url}/",
                    "DISABLE_SSH = true",
                    "OFFLINE_MODE = true",
                    "[database]",
                    "DB_TYPE = sqlite3",
                    f"PATH = {work / 'data' / 'gitea.db'}",
                    "[security]",
                    "INSTALL_LOCK = true",
                    f"SECRET_KEY = {secret_key}",
                    # The tests' webhook listeners are on 127.0.0.1.
                    "ALLOWED_HOST_LIST = loopback",
                    "[repository]",
                    f"ROOT = {work / 'repos'}",
                    "[log]",
                    f"ROOT_PATH = {work / 'log'}",
                    "LEVEL = Warn",
                    "[cron]",
                    "ENABLED = false",
                    "",
                ]
            )
        )
        return config

    def _env(self) -> dict[str, str]:
        home = self.directory / "home"
        home.mkdir(exist_ok=True)
        return {
            "HOME": str(home),
            "GITEA_WORK_DIR": str(self.directory),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }

    def _gitea(self, config: Path, *args: str) -> None:
        proc = subprocess.run(
            [str(self.binary.executable), "--config", str(config), *args],
            env=self._env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-20:])
            raise GiteaError(f"gitea {args[0]} failed:\n{tail}")

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.exited() is not None:
                raise GiteaError(f"gitea exited at start:\n{self.process.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/version", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        raise GiteaError(f"gitea did not answer within {_START_TIMEOUT:.0f}s")

    def _create_token(self) -> str:
        return self.create_token(["write:repository", "write:issue", "write:user", "write:admin"])

    def create_token(self, scopes: list[str]) -> str:
        """A new API token of the admin user with just these scopes."""
        answer = self.api(
            "POST",
            f"/users/{ADMIN_USER}/tokens",
            {"name": f"orchestrator-{secrets.token_hex(4)}", "scopes": scopes},
        )
        if answer.status != 201:
            raise GiteaError(f"creating an API token failed: HTTP {answer.status} {answer.data}")
        token: str = answer.data["sha1"]
        return token
