"""One contending writer for the concurrency tests (run as a separate process).

usage: gitbus_cas_writer.py branch|note URL CACHE_DIR INDEX [TARGET_COMMIT] START_FILE
Waits until START_FILE exists so all writers race, then makes one CAS write
and prints the number of attempts it took.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity, NoteEntry
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.retry import RetryPolicy

RETRY = RetryPolicy(attempts=80, base_delay=0.02, max_delay=0.4)


def main() -> None:
    mode, url, cache_dir, index, *rest = sys.argv[1:]
    start = Path(rest[-1])
    deadline = time.monotonic() + 60
    while not start.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    me = Identity(f"Writer {index}", f"writer-{index}@example.com")
    cache = CacheRepo.open(Path(cache_dir), remote_url=url)
    if mode == "branch":
        ref = protocol.env_branch("dev")
        result = cache.push_with_retry(
            ref=ref,
            rebuild=lambda tip: cache.create_commit(
                parent=tip,
                subject=f"writer {index}",
                author=me,
                trailers=[("Writer", index)],
                changes={f"writers/{index}.txt": index.encode()},
            ),
            retry=RETRY,
        )
    else:
        entry = NoteEntry(
            id=f"writer-{index}",
            at=protocol.utc_timestamp(),
            agent=f"writer-{index}",
            phase="applied",
        )
        result = cache.add_note(env="dev", commit=rest[0], entries=[entry], author=me, retry=RETRY)
    assert result.pushed
    print(result.attempts)


if __name__ == "__main__":
    main()
