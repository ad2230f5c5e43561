"""Run only by test_no_silent_skip.py, in a child pytest, to watch the fixture's verdict."""

from e2e.controlplane import Cluster


def test_needs_a_cluster(cluster: Cluster) -> None:
    assert cluster.server.startswith("https://127.0.0.1:")
