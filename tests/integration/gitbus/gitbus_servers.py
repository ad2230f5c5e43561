"""Real Git servers for the gitbus integration tests, all on 127.0.0.1.

Each server is a child process started with a fixed argument list and stopped
(terminate, then kill) by the fixture that started it.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.gitbus.auth import Auth
from orchestrator.gitbus.repo import CacheRepo
from tests.prerequisites import unavailable

GIT_DAEMON = "/usr/lib/git-core/git-daemon"
SSHD = "/usr/sbin/sshd"
HERE = Path(__file__).resolve().parent


def need_binary(path_or_name: str) -> str:
    """The binary's path; a missing one fails in CI and skips elsewhere."""
    found = path_or_name if os.path.isabs(path_or_name) else shutil.which(path_or_name)
    if found and os.access(found, os.X_OK):
        return found
    unavailable(f"{path_or_name} is not installed (see .ci/apt-packages)")
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, proc: subprocess.Popen[bytes], *, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def git_env(home: Path) -> dict[str, str]:
    """Environment for the git CLI that ignores the machine's own configuration."""
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
        GIT_TERMINAL_PROMPT="0",
    )
    return env


def git(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        check=check,
        timeout=120,
    )


def init_bare(path: Path) -> Path:
    git("init", "-q", "--bare", str(path))
    return path


@dataclass
class GitDaemon:
    """`git daemon` exporting every repository under `base` for fetch and push."""

    base: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> GitDaemon:
        need_binary(GIT_DAEMON)
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                GIT_DAEMON,
                "--export-all",
                "--enable=receive-pack",
                "--reuseaddr",
                "--informative-errors",
                f"--base-path={self.base}",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                str(self.base),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.proc)
        return self

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


@dataclass
class SshServer:
    """An sshd on 127.0.0.1 that lets the current user in with generated keys only."""

    root: Path
    port: int = 0
    user: str = field(default_factory=getpass.getuser)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def host_key(self) -> Path:
        return self.root / "host_ed25519"

    @property
    def user_key(self) -> Path:
        return self.root / "user_ed25519"

    @property
    def passphrase_key(self) -> Path:
        return self.root / "user_pp_ed25519"

    @property
    def stranger_key(self) -> Path:
        return self.root / "stranger_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    passphrase: str = "correct horse battery staple"

    def start(self) -> SshServer:
        need_binary(SSHD)
        keygen = need_binary("ssh-keygen")
        self.root.mkdir(parents=True, exist_ok=True)
        for key, secret in (
            (self.host_key, ""),
            (self.user_key, ""),
            (self.passphrase_key, self.passphrase),
            (self.stranger_key, ""),
        ):
            subprocess.run(
                [keygen, "-q", "-t", "ed25519", "-N", secret, "-C", key.name, "-f", str(key)],
                check=True,
                capture_output=True,
            )
        authorized = self.root / "authorized_keys"
        authorized.write_text(
            Path(f"{self.user_key}.pub").read_text()
            + Path(f"{self.passphrase_key}.pub").read_text()
        )
        self.port = free_port()
        host_pub = Path(f"{self.host_key}.pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        config = self.root / "sshd_config"
        git_dir = Path(shutil.which("git-upload-pack") or "/usr/bin/git-upload-pack").parent
        config.write_text(
            "\n".join(
                [
                    "ListenAddress 127.0.0.1",
                    f"Port {self.port}",
                    f"HostKey {self.host_key}",
                    f"AuthorizedKeysFile {authorized}",
                    f"PidFile {self.root / 'sshd.pid'}",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "StrictModes no",
                    "UsePAM no",
                    "PermitRootLogin prohibit-password",
                    f"AllowUsers {self.user}",
                    f"SetEnv PATH={git_dir}:/usr/bin:/bin",
                    "",
                ]
            )
        )
        if os.geteuid() == 0:
            # sshd started as root insists on its privilege separation directory.
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "sshd.log").open("wb"),
        )
        wait_for_port(self.port, self.proc)
        return self

    def url(self, repo: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{repo}"

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


@dataclass
class HttpServer:
    """Smart HTTP: `git http-backend` behind a small server with basic auth."""

    root: Path
    user: str = "agent"
    token: str = "s3cr3t-t0ken-value"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> HttpServer:
        need_binary("/usr/lib/git-core/git-http-backend")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "gitbus_http_server.py"),
                "--root",
                str(self.root),
                "--port",
                str(self.port),
                "--user",
                self.user,
                "--token",
                self.token,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.proc)
        return self

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


@dataclass
class Remote:
    """A bare repository and how a CacheRepo reaches it."""

    kind: str
    path: Path
    url: str
    auth: Auth
    caches: Path

    def cache(self, name: str = "cache", *, auth: Auth | None = None) -> CacheRepo:
        return CacheRepo.open(
            self.caches / name, remote_url=self.url, auth=auth if auth is not None else self.auth
        )


RemoteFactory = Callable[[str], Remote]
