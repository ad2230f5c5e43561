"""Poll cost: gitbus "poll, nothing changed" against ls-remote, in-process fetch, `git fetch`.

Builds (once, cached outside the repository) bare repositories of 1,000 and
10,000 commits (2 and 20 thousand files) with `git fast-import`, serves them
over file:// and over git:// (a `git daemon` on 127.0.0.1 started here), and
times, side by side and in one run:

  poll       CacheRepo.poll() on an up-to-date cache: list the remote's heads,
             compare with the mirror, fetch nothing (in-process, as the agent does)
  ls-remote  `git ls-remote URL`: what a person would run to see whether
             anything changed (the git CLI, a process per run)
  in-proc    a libgit2 fetch (pygit2 `Remote.fetch()`) in an up-to-date mirror,
             in this process: the fetch a poller without the list-and-compare
             step would do, without a process start
  fetch      `git fetch` in an up-to-date `git clone --mirror` (the git CLI)

The four take turns, each repeated and the median kept. Ratios are poll /
baseline. The last line is `poll_vs_fetch_ratio=<x> poll_vs_ls_remote_ratio=<y>
poll_vs_inprocess_fetch_ratio=<z>`: the worst (largest) of each over both
transports at 10,000 commits. Target for the first: below 0.2, and flat in
repository size.

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

import pygit2

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


def alternating_medians(actions: list[Callable[[], object]], *, repeats: int) -> list[float]:
    """Median ms of each action, timed in turn so all see the same machine load."""
    for action in actions:
        action()  # warm up: page cache, first connection
    samples: list[list[float]] = [[] for _ in actions]
    for _ in range(repeats):
        for action, taken in zip(actions, samples, strict=True):
            start = time.perf_counter()
            action()
            taken.append((time.perf_counter() - start) * 1000)
    return [statistics.median(taken) for taken in samples]


BASELINES = ("ls-remote", "in-proc", "fetch")


def measure(url: str, *, work: Path, env: dict[str, str], repeats: int) -> list[float]:
    """Median ms of poll and of each baseline, in the order poll, *BASELINES."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cache = CacheRepo.open(work / "cache.git", remote_url=url)
    cache.poll(WATCH)  # the initial fetch: afterwards nothing changes

    def poll() -> None:
        result = cache.poll(WATCH)
        assert not result.changed

    def ls_remote() -> None:
        subprocess.run(["git", "ls-remote", "-q", url], check=True, env=env, capture_output=True)

    mirror = work / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--mirror", url, str(mirror)], check=True, env=env)
    origin = pygit2.Repository(str(mirror)).remotes["origin"]

    def in_process_fetch() -> None:
        origin.fetch()

    def fetch() -> None:
        subprocess.run(["git", "fetch", "-q", "origin"], cwd=mirror, check=True, env=env)

    return alternating_medians([poll, ls_remote, in_process_fetch, fetch], repeats=repeats)


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

    rows: list[tuple[int, int, str, list[float]]] = []
    with git_daemon(repos) as port:
        for commits, files in SIZES:
            name = f"r{commits}.git"
            for transport, url in (
                ("file://", f"file://{repos / name}"),
                ("git://", f"git://127.0.0.1:{port}/{name}"),
            ):
                work = args.cache / "work" / f"{commits}-{transport.strip(':/')}"
                rows.append(
                    (
                        commits,
                        files,
                        transport,
                        measure(url, work=work, env=env, repeats=args.repeats),
                    )
                )

    print(f"# medians of {args.repeats} alternating runs (ms); ratio = poll / baseline")
    header = " ".join(f"{b + ' ms':>12}" for b in BASELINES)
    ratios = " ".join(f"{'/' + b:>10}" for b in BASELINES)
    print(f"{'commits':>8} {'files':>7} {'transport':>9} {'poll ms':>9} {header} {ratios}")
    for commits, files, transport, (poll_ms, *base_ms) in rows:
        times = " ".join(f"{ms:>12.2f}" for ms in base_ms)
        shares = " ".join(f"{poll_ms / ms:>10.3f}" for ms in base_ms)
        print(f"{commits:>8} {files:>7} {transport:>9} {poll_ms:>9.2f} {times} {shares}")
    largest = max(c for c, _ in SIZES)

    def worst(baseline: str) -> float:
        index = 1 + BASELINES.index(baseline)
        return max(m[0] / m[index] for c, _, _, m in rows if c == largest)

    print(
        f"poll_vs_fetch_ratio={worst('fetch'):.3f} "
        f"poll_vs_ls_remote_ratio={worst('ls-remote'):.3f} "
        f"poll_vs_inprocess_fetch_ratio={worst('in-proc'):.3f}"
    )


if __name__ == "__main__":
    main()
