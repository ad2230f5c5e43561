"""Poll cost: gitbus "poll, nothing changed" against `git fetch`, nothing changed.

Builds (once, cached outside the repository) bare repositories of 1,000 and
10,000 commits (2 and 20 thousand files) with `git fast-import`, serves them
over file:// and over git:// (a `git daemon` on 127.0.0.1 started here), and
times, side by side and in one run:

  poll   CacheRepo.poll() on an up-to-date cache: list the remote's heads,
         compare with the mirror, fetch nothing (in-process, as the agent does)
  fetch  `git fetch` in an up-to-date `git clone --mirror` (the real git CLI)

Each is repeated and the median kept. The last line is
`poll_vs_fetch_ratio=<x>`: the worst (largest) poll/fetch ratio over both
transports at 10,000 commits. Target: below 0.2, and flat in repository size.

usage: python bench/git_poll.py [--repeats N] [--cache DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator.gitbus import protocol
from orchestrator.gitbus.repo import CacheRepo

SIZES = [(1_000, 2_000), (10_000, 20_000)]
WATCH = [
    protocol.env_branch("dev"),
    protocol.feature_glob("dev"),
    protocol.NOTES_GLOB,
]
GIT_DAEMON = "/usr/lib/git-core/git-daemon"


def git_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
    )
    return env


def fast_import_stream(commits: int, files: int) -> Iterator[bytes]:
    """A linear history on refs/heads/dev adding files/commits files per commit."""
    per_commit = files // commits
    when = 1_700_000_000
    for i in range(1, commits + 1):
        message = f"delivery {i}\n".encode()
        lines = [
            b"commit refs/heads/dev\n",
            f"mark :{i}\n".encode(),
            f"committer Bench <bench@example.com> {when + i} +0000\n".encode(),
            f"data {len(message)}\n".encode() + message,
        ]
        if i > 1:
            lines.append(f"from :{i - 1}\n".encode())
        for j in range(per_commit):
            n = (i - 1) * per_commit + j
            content = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{n}\n".encode()
            lines.append(f"M 100644 inline deploy/d{n % 200:03d}/cm-{n}.yaml\n".encode())
            lines.append(f"data {len(content)}\n".encode() + content)
        yield b"".join(lines) + b"\n"
    note = b'{"schema": "orchestrator.note/v1", "entries": []}\n'
    yield (
        b"commit refs/notes/orchestrator/dev\n"
        + f"committer Bench <bench@example.com> {when} +0000\n".encode()
        + b"data 6\nnotes\n"
        + f"N inline :{commits}\n".encode()
        + f"data {len(note)}\n".encode()
        + note
        + b"\n"
    )
    for feature in ("add-redis", "bump-api"):
        yield f"reset {protocol.feature_branch('dev', feature)}\nfrom :{commits}\n\n".encode()


def build_repo(path: Path, *, commits: int, files: int, env: dict[str, str]) -> None:
    if (path / "orchestrator-bench-done").exists():
        return
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True, env=env)
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet"], cwd=path, stdin=subprocess.PIPE, env=env
    )
    assert proc.stdin is not None
    for chunk in fast_import_stream(commits, files):
        proc.stdin.write(chunk)
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "repack", "-adq"], cwd=path, check=True, env=env)
    (path / "orchestrator-bench-done").touch()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def git_daemon(base: Path) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [
            GIT_DAEMON,
            "--export-all",
            "--reuseaddr",
            f"--base-path={base}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("git daemon did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def paired_medians(
    first: Callable[[], object], second: Callable[[], object], *, repeats: int
) -> tuple[float, float]:
    """Median ms of each, timed alternately so both see the same machine load."""
    first()  # warm up: page cache, first connection
    second()
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeats):
        for action, samples in ((first, a), (second, b)):
            start = time.perf_counter()
            action()
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(a), statistics.median(b)


def measure(url: str, *, work: Path, env: dict[str, str], repeats: int) -> tuple[float, float]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cache = CacheRepo.open(work / "cache.git", remote_url=url)
    cache.poll(WATCH)  # the initial fetch: afterwards nothing changes

    def poll() -> None:
        result = cache.poll(WATCH)
        assert not result.changed

    mirror = work / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--mirror", url, str(mirror)], check=True, env=env)

    def fetch() -> None:
        subprocess.run(["git", "fetch", "-q", "origin"], cwd=mirror, check=True, env=env)

    return paired_medians(poll, fetch, repeats=repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", tempfile.gettempdir()))
        / "orchestrator-bench-git-poll",
    )
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    env = git_env(args.cache)
    repos = args.cache / "repos"
    repos.mkdir(exist_ok=True)
    for commits, files in SIZES:
        started = time.monotonic()
        build_repo(repos / f"r{commits}.git", commits=commits, files=files, env=env)
        took = time.monotonic() - started
        print(f"# repository {commits} commits / {files} files ready in {took:.1f}s")

    rows: list[tuple[int, int, str, float, float]] = []
    with git_daemon(repos) as port:
        for commits, files in SIZES:
            name = f"r{commits}.git"
            for transport, url in (
                ("file://", f"file://{repos / name}"),
                ("git://", f"git://127.0.0.1:{port}/{name}"),
            ):
                work = args.cache / "work" / f"{commits}-{transport.strip(':/')}"
                poll_ms, fetch_ms = measure(url, work=work, env=env, repeats=args.repeats)
                rows.append((commits, files, transport, poll_ms, fetch_ms))

    print(f"# medians of {args.repeats} alternating runs; poll in-process, fetch = git CLI")
    print(
        f"{'commits':>8} {'files':>7} {'transport':>9} {'poll ms':>9} {'fetch ms':>9} {'ratio':>7}"
    )
    for commits, files, transport, poll_ms, fetch_ms in rows:
        ratio = poll_ms / fetch_ms
        print(
            f"{commits:>8} {files:>7} {transport:>9} {poll_ms:>9.2f} {fetch_ms:>9.2f} {ratio:>7.3f}"
        )
    largest = max(c for c, _ in SIZES)
    worst = max(p / f for c, _, _, p, f in rows if c == largest)
    print(f"poll_vs_fetch_ratio={worst:.3f}")


if __name__ == "__main__":
    main()
