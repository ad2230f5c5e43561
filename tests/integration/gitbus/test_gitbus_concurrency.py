"""Twenty separate processes race compare-and-swap writes; nobody's write is lost."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity
from tests.integration.gitbus.gitbus_servers import HERE, Remote, RemoteFactory, git

WRITERS = 20
ROOT = HERE.parents[2]
DEV = protocol.env_branch("dev")


def race(remote: Remote, tmp_path: Path, jobs: list[list[str]]) -> list[int]:
    """Start every writer, release them at once, and collect their attempt counts."""
    start = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(HERE / "gitbus_cas_writer.py"),
                job[0],
                remote.url,
                str(remote.caches / f"w{i}"),
                *job[1:],
                str(start),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for i, job in enumerate(jobs)
    ]
    try:
        start.touch()
        outputs = [p.communicate(timeout=240) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    failures = [err.decode() for p, (_, err) in zip(procs, outputs, strict=True) if p.returncode]
    assert not failures, failures[0]
    return [int(out) for out, _ in outputs]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["path", "git"])
def test_twenty_writers_one_branch(make_remote: RemoteFactory, tmp_path: Path, kind: str) -> None:
    remote = make_remote(kind)
    attempts = race(remote, tmp_path, [["branch", str(i)] for i in range(WRITERS)])
    log = git("log", "--format=%(trailers:key=Writer,valueonly)", DEV, cwd=remote.path)
    writers = Counter(line for line in log.stdout.decode().split("\n") if line)
    assert writers == Counter(str(i) for i in range(WRITERS))
    assert git("rev-list", "--count", DEV, cwd=remote.path).stdout.strip() == b"20"
    assert max(attempts) > 1  # they really raced


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["path", "git"])
def test_twenty_notes_one_notes_ref(
    make_remote: RemoteFactory, tmp_path: Path, cli_env: dict[str, str], kind: str
) -> None:
    remote = make_remote(kind)
    seed = remote.cache("seed")
    author = Identity("Seed", "seed@example.com", datetime(2024, 1, 1, tzinfo=UTC))
    commits: list[str] = []
    tip: str | None = None
    for i in range(WRITERS):
        tip = seed.create_commit(
            parent=tip, subject=f"c{i}", author=author, changes={"n": str(i).encode()}
        )
        commits.append(tip)
    assert tip is not None
    seed.push(ref=DEV, expected=None, new=tip)
    shared = commits[0]
    jobs = [["note", str(i), commits[i]] for i in range(WRITERS)]  # one note per commit
    jobs += [["note", f"shared-{i}", shared] for i in range(6)]  # and six on the same one
    race(remote, tmp_path, jobs)

    reader = remote.cache("reader")
    reader.poll([protocol.NOTES_GLOB])
    notes = reader.list_notes(env="dev")
    assert set(notes) == set(commits)
    for i, commit in enumerate(commits):
        ids = {e.id for e in notes[commit].entries}
        expected = {f"writer-{i}"} | ({f"writer-shared-{j}" for j in range(6)} if i == 0 else set())
        assert ids == expected
    listed = git("notes", "--ref=orchestrator/dev", "list", cwd=remote.path, env=cli_env)
    assert len(listed.stdout.splitlines()) == WRITERS
