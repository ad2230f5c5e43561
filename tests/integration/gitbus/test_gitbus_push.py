"""A server that refuses a push: for good (hooks, protection) or as a lost race."""

from __future__ import annotations

import pytest

from orchestrator.errors import (
    PushRefused,
    PushRejected,
)
from orchestrator.gitbus.retry import RetryPolicy
from tests.integration.gitbus.gitbus_seed import AGENT, DEV, seed
from tests.integration.gitbus.gitbus_servers import (
    RemoteFactory,
    git,
)


@pytest.mark.parametrize("kind", ["git", "ssh", "http"])
def test_server_side_refusal_is_refused_for_good_and_not_retried(
    make_remote: RemoteFactory, kind: str
) -> None:
    remote = make_remote(kind)
    base = seed(remote)
    hook = remote.path / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'frozen by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    cache = remote.cache()
    cache.poll([DEV])
    new = cache.create_commit(parent=base, subject="x", author=AGENT, changes={"b": b"b"})
    with pytest.raises(PushRefused, match="hook declined"):
        cache.push(ref=DEV, expected=base, new=new)
    assert cache.local_tip(DEV) == base

    # Retrying cannot get past a hook: the first refusal is the answer, without backoff.
    attempts: list[str | None] = []

    def rebuild(tip: str | None) -> str:
        attempts.append(tip)
        return new

    with pytest.raises(PushRefused, match="hook declined"):
        cache.push_with_retry(
            ref=DEV, rebuild=rebuild, retry=RetryPolicy(attempts=5, base_delay=0.5)
        )
    assert attempts == [base]
    assert git("rev-parse", DEV, cwd=remote.path).stdout.decode().strip() == base


def test_non_fast_forward_is_rejected(make_remote: RemoteFactory) -> None:
    remote = make_remote("path")
    base = seed(remote)
    cache = remote.cache()
    cache.poll([DEV])
    unrelated = cache.create_commit(parent=None, subject="root", author=AGENT, changes={"z": b"z"})
    with pytest.raises(PushRejected):
        cache.push(ref=DEV, expected=base, new=unrelated)
