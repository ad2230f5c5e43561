"""A `coordination.k8s.io/v1` Lease as a lock: acquire, renew, release.

Every write carries the `metadata.resourceVersion` that was read, so two replicas
racing for the same Lease cannot both win: the API server accepts the first
write and refuses the other with 409 (a `KubeError` from the client). A lost race
is therefore an ordinary error, and the caller simply reads again next time.

Whether a Lease held by someone else may be taken over is a judgement about time,
and time is where replicas disagree (clock skew). `LeaseLock.try_acquire` asks its
caller: by default it compares `renewTime + leaseDurationSeconds` with this
machine's clock, which is right only when clocks agree. `LeaderElector` passes a
skew-tolerant judgement instead (see `orchestrator.agent.leader`).

The API is reached only through `KubeClient` (`LeaseBackend` is the seam that unit
tests replace with an in-memory store).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from orchestrator.kube.client import KubeClient

API_VERSION = "coordination.k8s.io/v1"
KIND = "Lease"
FIELD_MANAGER = "orchestrator-leader"
# What a released Lease says: nobody holds it, and it expires at once.
RELEASED_DURATION_SECONDS = 1


def format_micro_time(moment: datetime) -> str:
    """Kubernetes MicroTime: RFC 3339 in UTC with exactly six fractional digits and `Z`."""
    if moment.tzinfo is None:
        raise ValueError("MicroTime needs an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(text: str | None) -> datetime | None:
    """Read MicroTime (or plain RFC 3339 Time); None for an absent or empty value."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """What a Lease says, as plain data. `holder` is "" when nobody holds it."""

    name: str
    namespace: str
    holder: str = ""
    duration_seconds: int = 0
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    transitions: int = 0
    resource_version: str = ""

    @property
    def held(self) -> bool:
        return bool(self.holder)

    def held_by(self, identity: str) -> bool:
        return bool(identity) and self.holder == identity

    @property
    def expires_at(self) -> datetime | None:
        """When the holder's claim runs out by the holder's clock (None: never renewed)."""
        if self.renew_time is None:
            return None
        return self.renew_time + timedelta(seconds=self.duration_seconds)

    def expired(self, now: datetime) -> bool:
        """Wall-clock expiry; trustworthy only when the clocks of all replicas agree."""
        expires = self.expires_at
        return expires is None or expires <= now

    def to_object(self) -> dict[str, Any]:
        """The Lease object to send; resourceVersion makes the write conditional."""
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if self.resource_version:
            metadata["resourceVersion"] = self.resource_version
        spec: dict[str, Any] = {
            "holderIdentity": self.holder,
            "leaseDurationSeconds": self.duration_seconds,
            "leaseTransitions": self.transitions,
        }
        if self.acquire_time is not None:
            spec["acquireTime"] = format_micro_time(self.acquire_time)
        if self.renew_time is not None:
            spec["renewTime"] = format_micro_time(self.renew_time)
        return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> LeaseRecord:
        metadata = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        return cls(
            name=str(metadata.get("name", "")),
            namespace=str(metadata.get("namespace", "")),
            holder=str(spec.get("holderIdentity") or ""),
            duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
            acquire_time=parse_micro_time(spec.get("acquireTime")),
            renew_time=parse_micro_time(spec.get("renewTime")),
            transitions=int(spec.get("leaseTransitions") or 0),
            resource_version=str(metadata.get("resourceVersion") or ""),
        )


class LeaseBackend(Protocol):
    """Storage of one Lease. `update` must refuse a stale `resource_version`."""

    name: str
    namespace: str

    def read(self) -> LeaseRecord | None: ...

    def create(self, record: LeaseRecord) -> LeaseRecord: ...

    def update(self, record: LeaseRecord) -> LeaseRecord: ...


class KubeLeaseBackend:
    """A Lease in a real cluster, through `KubeClient` (errors are `KubeError`s)."""

    def __init__(self, client: KubeClient, *, name: str, namespace: str) -> None:
        self._client = client
        self.name = name
        self.namespace = namespace

    def read(self) -> LeaseRecord | None:
        obj = self._client.get(
            api_version=API_VERSION, kind=KIND, name=self.name, namespace=self.namespace
        )
        return LeaseRecord.from_object(obj) if obj is not None else None

    def create(self, record: LeaseRecord) -> LeaseRecord:
        # Two creators race: the loser gets 409 AlreadyExists, a KubeError.
        obj = replace(record, resource_version="").to_object()
        return LeaseRecord.from_object(self._client.create(obj, field_manager=FIELD_MANAGER))

    def update(self, record: LeaseRecord) -> LeaseRecord:
        if not record.resource_version:
            raise ValueError("a Lease update without resourceVersion would not be conditional")
        obj = self._client.replace(record.to_object(), field_manager=FIELD_MANAGER)
        return LeaseRecord.from_object(obj)


TakeoverJudge = Callable[[LeaseRecord], bool]


class LeaseLock:
    """Acquire, renew and release one Lease; every write is conditional."""

    def __init__(self, backend: LeaseBackend) -> None:
        self.backend = backend

    @classmethod
    def in_cluster(cls, client: KubeClient, *, name: str, namespace: str) -> LeaseLock:
        return cls(KubeLeaseBackend(client, name=name, namespace=namespace))

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def namespace(self) -> str:
        return self.backend.namespace

    def read(self) -> LeaseRecord | None:
        return self.backend.read()

    def try_acquire(
        self,
        *,
        identity: str,
        duration_seconds: float,
        now: datetime,
        may_take_over: TakeoverJudge | None = None,
    ) -> LeaseRecord:
        """One attempt; the Lease as it stands afterwards (`held_by(identity)` = we hold it).

        Absent: create it. Ours: renew it. Released (no holder) or, by `may_take_over`
        (default: wall-clock expiry at `now`), abandoned: take it over. Otherwise
        leave it and return it, which says who holds it. A lost race raises `KubeError`.
        """
        if not identity:
            raise ValueError("a Lease holder needs a non-empty identity")
        duration = _whole_seconds(duration_seconds)
        current = self.backend.read()
        if current is None:
            return self.backend.create(
                LeaseRecord(
                    name=self.name,
                    namespace=self.namespace,
                    holder=identity,
                    duration_seconds=duration,
                    acquire_time=now,
                    renew_time=now,
                )
            )
        if current.held_by(identity):
            return self.renew(current, now=now, duration_seconds=duration)
        judge = may_take_over or (lambda record: record.expired(now))
        if current.held and not judge(current):
            return current
        return self.backend.update(
            replace(
                current,
                holder=identity,
                duration_seconds=duration,
                acquire_time=now,
                renew_time=now,
                transitions=current.transitions + 1,
            )
        )

    def renew(
        self, record: LeaseRecord, *, now: datetime, duration_seconds: float | None = None
    ) -> LeaseRecord:
        """Move renewTime to `now`; fails (KubeError) if the Lease changed since `record`."""
        duration = (
            record.duration_seconds
            if duration_seconds is None
            else _whole_seconds(duration_seconds)
        )
        return self.backend.update(replace(record, renew_time=now, duration_seconds=duration))

    def release(self, record: LeaseRecord, *, now: datetime) -> LeaseRecord:
        """Give the Lease up so another replica can take it at once (no wait for expiry)."""
        return self.backend.update(
            replace(
                record,
                holder="",
                duration_seconds=RELEASED_DURATION_SECONDS,
                acquire_time=now,
                renew_time=now,
            )
        )


def _whole_seconds(seconds: float) -> int:
    # leaseDurationSeconds is an integer; rounding up never shortens the promise to others.
    if seconds <= 0:
        raise ValueError("a Lease duration must be positive")
    return max(1, math.ceil(seconds))
