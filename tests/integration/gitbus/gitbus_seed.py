"""A first commit on the dev branch of a test remote, and who writes it."""

from __future__ import annotations

from datetime import UTC, datetime

from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity
from tests.integration.gitbus.gitbus_servers import Remote

AGENT = Identity("Agent", "agent@example.com", datetime(2024, 5, 1, tzinfo=UTC))
DEV = protocol.env_branch("dev")


def seed(remote: Remote, files: dict[str, bytes | None] | None = None) -> str:
    cache = remote.cache("seed")
    result = cache.push_with_retry(
        ref=DEV,
        rebuild=lambda tip: cache.create_commit(
            parent=tip, subject="seed", author=AGENT, changes=files or {"a.txt": b"a"}
        ),
    )
    assert result.commit is not None
    return result.commit
