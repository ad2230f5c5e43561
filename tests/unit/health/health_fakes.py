"""An in-memory cluster and a fake clock: the injectable I/O seam of the health package.

`FakeCluster` implements `ClusterAccess` with plain dicts (equality label
selectors, generateName, creationTimestamp from a counter). `FakeClock` is
both `clock` and `sleep`; `at(t, change)` makes the cluster change when the
waiting code's time passes t, as a controller would.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.errors import NotFound

Key = tuple[str, str, str, str]
_EPOCH = datetime(2026, 1, 1, 1, tzinfo=UTC)  # after the fixed times tests write


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._events: list[tuple[float, Callable[[], object]]] = []

    def __call__(self) -> float:
        return self.now

    def at(self, when: float, change: Callable[[], object]) -> None:
        self._events.append((when, change))
        self._events.sort(key=lambda e: e[0])
        self._run_due()

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, "a pause of nothing would spin"
        self.sleeps.append(seconds)
        self.now += seconds
        self._run_due()

    def _run_due(self) -> None:
        while self._events and self._events[0][0] <= self.now:
            _, change = self._events.pop(0)
            change()


class FakeCluster:
    """Objects by (apiVersion, kind, namespace, name); reads return copies."""

    def __init__(self) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.created: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.gets = 0
        self.read_error: Exception | None = None
        self._serial = 0

    # -- test helpers -------------------------------------------------------------

    def put(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        stored = copy.deepcopy(dict(obj))
        meta = stored.setdefault("metadata", {})
        if "creationTimestamp" not in meta:
            meta["creationTimestamp"] = self._next_timestamp()
        self.objects[_key(stored)] = stored
        return copy.deepcopy(stored)

    def remove(self, *, api_version: str, kind: str, name: str, namespace: str = "") -> None:
        del self.objects[(api_version, kind, namespace, name)]

    def patch_status(self, name: str, status: Mapping[str, Any]) -> None:
        """Give the only object called `name` this status (what a controller would do)."""
        (found,) = [o for o in self.objects.values() if o["metadata"]["name"] == name]
        found["status"] = copy.deepcopy(dict(status))

    def _next_timestamp(self) -> str:
        self._serial += 1
        return (_EPOCH + timedelta(seconds=self._serial)).strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- ClusterAccess ------------------------------------------------------------

    def get(
        self, *, api_version: str, kind: str, name: str, namespace: str = ""
    ) -> dict[str, Any] | None:
        self.gets += 1
        if self.read_error is not None:
            raise self.read_error
        found = self.objects.get((api_version, kind, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def list(
        self, *, api_version: str, kind: str, namespace: str = "", label_selector: str = ""
    ) -> list[dict[str, Any]]:
        if self.read_error is not None:
            raise self.read_error
        wanted = dict(p.split("=", 1) for p in label_selector.split(",") if p)
        out = []
        for (av, k, ns, _), obj in self.objects.items():
            if (av, k) != (api_version, kind) or (namespace and ns != namespace):
                continue
            labels = obj["metadata"].get("labels") or {}
            if all(labels.get(key) == value for key, value in wanted.items()):
                out.append(copy.deepcopy(obj))
        return out

    def create(self, obj: Mapping[str, Any], *, field_manager: str) -> dict[str, Any]:
        assert field_manager
        body = copy.deepcopy(dict(obj))
        meta = body["metadata"]
        assert "name" not in meta, "runs are named by the server (generateName)"
        meta["name"] = f"{meta.pop('generateName')}{self._serial + 1:05d}"
        assert _key(body) not in self.objects
        self.created.append(copy.deepcopy(body))
        return self.put(body)

    def delete(
        self,
        *,
        api_version: str,
        kind: str,
        name: str,
        namespace: str = "",
        propagation: str = "Background",
    ) -> bool:
        key = (api_version, kind, namespace, name)
        if key not in self.objects:
            raise NotFound("gone")
        del self.objects[key]
        self.deleted.append(name)
        return True


def _key(obj: Mapping[str, Any]) -> Key:
    meta = obj["metadata"]
    return (obj["apiVersion"], obj["kind"], meta.get("namespace") or "", meta["name"])


# --- live objects as controllers leave them -------------------------------------------


def deployment(name: str, state: str, *, namespace: str = "shop") -> dict[str, Any]:
    """A Deployment of 2 replicas: `progressing`, `healthy`, `deadline` or `replica-failure`."""
    status: dict[str, Any] = {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2}
    conditions: list[dict[str, Any]] = []
    if state == "healthy":
        status |= {"readyReplicas": 2, "availableReplicas": 2}
        conditions = [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ]
    elif state == "progressing":
        status |= {"readyReplicas": 1, "availableReplicas": 1}
        conditions = [
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"},
        ]
    elif state == "deadline":
        conditions = [
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": f'ReplicaSet "{name}-1" has timed out progressing.',
            }
        ]
    elif state == "replica-failure":
        conditions = [
            {
                "type": "ReplicaFailure",
                "status": "True",
                "reason": "FailedCreate",
                "message": "exceeded quota",
            }
        ]
    else:
        raise ValueError(state)
    status["conditions"] = conditions
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": {"replicas": 2},
        "status": status,
    }


def config_map(name: str, *, namespace: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"a": "1"},
    }
