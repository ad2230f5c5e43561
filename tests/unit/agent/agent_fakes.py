"""In-memory stand-ins for the Lease API and the clock, shared by the agent unit tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from orchestrator.errors import ClusterUnreachable, KubeError
from orchestrator.kube.lease import LeaseRecord

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


class FakeClock:
    """Monotonic and wall time that move only when told; `skew` offsets the wall clock."""

    def __init__(self, *, skew: float = 0.0, start: float = 1000.0) -> None:
        self.t = start
        self.skew = skew

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self.t + self.skew)

    def advance(self, seconds: float) -> None:
        self.t += seconds


class SharedClock(FakeClock):
    """Several electors on one timeline, each with its own wall-clock skew."""

    def view(self, *, skew: float = 0.0) -> FakeClock:
        shared = self

        class View(FakeClock):
            def monotonic(self) -> float:
                return shared.t

            def now(self) -> datetime:
                return EPOCH + timedelta(seconds=shared.t + skew)

        return View()


class LeaseStore:
    """One Lease in memory, with the API server's optimistic concurrency."""

    def __init__(self, *, name: str = "orchestrator-staging", namespace: str = "system") -> None:
        self.name = name
        self.namespace = namespace
        self.record: LeaseRecord | None = None
        self.version = 0
        self.writes = 0

    def read(self) -> LeaseRecord | None:
        return self.record

    def create(self, record: LeaseRecord) -> LeaseRecord:
        if self.record is not None:
            raise KubeError("create: leases.coordination.k8s.io already exists (409)")
        return self._store(record)

    def update(self, record: LeaseRecord) -> LeaseRecord:
        if self.record is None:
            raise KubeError("replace: not found (404)")
        if record.resource_version != self.record.resource_version:
            raise KubeError("replace: the object has been modified (409)")
        return self._store(record)

    def _store(self, record: LeaseRecord) -> LeaseRecord:
        self.version += 1
        self.writes += 1
        self.record = replace(
            record, name=self.name, namespace=self.namespace, resource_version=str(self.version)
        )
        return self.record


class View:
    """One replica's path to the store; `down` simulates a network partition."""

    def __init__(self, store: LeaseStore) -> None:
        self.store = store
        self.name = store.name
        self.namespace = store.namespace
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise ClusterUnreachable("https://127.0.0.1:6443: connection refused")

    def read(self) -> LeaseRecord | None:
        self._check()
        return self.store.read()

    def create(self, record: LeaseRecord) -> LeaseRecord:
        self._check()
        return self.store.create(record)

    def update(self, record: LeaseRecord) -> LeaseRecord:
        self._check()
        return self.store.update(record)
