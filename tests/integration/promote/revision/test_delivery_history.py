"""The first-parent history behind a verified revision, read from a real repository."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity, NoteEntry
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.promote.revision.deliveries import carried, read_history

WHO = Identity("Bench", "bench@example.com", datetime(2026, 1, 1, tzinfo=UTC))
STAGING = protocol.env_branch("staging")


def test_a_burst_of_a_hundred_merged_deliveries_is_carried_whole(tmp_path: Path) -> None:
    """A pull request host working through a queue can merge a hundred deliveries before
    the agent verifies the tip: every one of them is carried (and gets its note)."""
    bare = tmp_path / "bus.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    cache = CacheRepo.open(tmp_path / "cache", remote_url=str(bare))
    setup = cache.create_commit(parent=None, subject="set up", author=WHO, changes={"a": b"0"})
    cache.push(ref=STAGING, expected=None, new=setup)
    promoted = NoteEntry(
        id="promoted-setup",
        at="2026-01-01T00:00:00Z",
        agent="staging-agent",
        phase="Promoted",
        fields={"revision": setup, "promotions": [{"target": "production"}]},
    )
    cache.add_note(env="staging", commit=setup, entries=[promoted], author=WHO)
    tip = setup
    for k in range(100):
        tip = cache.create_commit(
            parent=tip,
            subject=f"Deliver burst-{k}",
            author=WHO,
            trailers=[("Delivery", f"burst-{k}")],
            changes={f"burst-{k}": b"1"},
        )
    cache.push(ref=STAGING, expected=setup, new=tip)

    history, notes = read_history(cache, tip, env="staging", targets=["production"])
    found = carried(history, notes, targets=["production"])

    assert [c.feature for c in found] == [f"burst-{k}" for k in range(100)]
    assert found[-1].sha == tip
