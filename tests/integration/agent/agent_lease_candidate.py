"""One replica's leader election, as a separate process for the takeover tests.

    python -m tests.integration.agent.agent_lease_candidate KUBECONFIG NAMESPACE LEASE IDENTITY

Prints one JSON line per event with `time.monotonic()` (CLOCK_MONOTONIC is shared by
all processes of a machine, so the test can order events across replicas). SIGTERM
stops the campaign and releases the Lease, as the agent does.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from types import FrameType

from orchestrator.agent.leader import LeaderElector, Timing
from orchestrator.kube.client import KubeClient
from orchestrator.kube.lease import LeaseLock

TIMING = Timing(lease_duration=4, renew_deadline=2.5, retry_period=0.5, renew_interval=1)


def emit(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, "t": time.monotonic(), **fields}), flush=True)


def main(argv: list[str]) -> int:
    kubeconfig, namespace, lease, identity = argv
    client = KubeClient.from_kubeconfig(kubeconfig)
    elector = LeaderElector(
        lock=LeaseLock.in_cluster(client, name=lease, namespace=namespace),
        identity=identity,
        timing=TIMING,
        on_started_leading=lambda: emit("started_leading"),
        on_stopped_leading=lambda: emit("stopped_leading"),
    )
    stopping: list[int] = []

    def on_term(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)  # no locks in a signal handler

    signal.signal(signal.SIGTERM, on_term)
    elector.start()
    emit("ready")
    while not stopping:
        time.sleep(0.05)
    released = elector.stop(release=True)
    emit("exit", released=released)
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
