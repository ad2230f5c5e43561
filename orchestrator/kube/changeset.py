"""What one delivery did, object by object: the type every kube stage produces or consumes.

Apply adds created / configured / unchanged entries, prune adds deleted /
skipped ones. An entry may carry the inventory record it leaves behind (what
was applied, and what the cluster said afterwards); the next inventory is the
records of all entries (`Inventory.of_changeset`).

A change set also keeps how long each step of the delivery took
(`durations`), so that an operator can see where a slow reconcile spends its
time (API discovery, the live listing, the dry run, the apply, pruning, the
inventory) without a profiler.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass
from enum import StrEnum
from typing import Any

from orchestrator.kube.inventory import InventoryEntry
from orchestrator.objectref import ObjectRef


class Action(StrEnum):
    """What happened to one object."""

    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    SKIPPED = "skipped"


_ORDER = tuple(Action)


class Step(StrEnum):
    """The steps of a delivery whose durations a ChangeSet keeps, in the order they run."""

    DISCOVERY = "discovery"
    LIVE = "live"
    DRY_RUN = "dry-run"
    CRDS = "crds"
    APPLY = "apply"
    PRUNE = "prune"
    INVENTORY = "inventory"


@dataclass(frozen=True, slots=True)
class ChangeSetEntry:
    """One object's outcome.

    `message` says why, where there is more to say than the action (why an
    object was skipped, which check proved it unchanged). `record` is the
    inventory entry this outcome leaves behind, or None when the object leaves
    the inventory (deleted, or abandoned).
    """

    ref: ObjectRef
    action: Action
    _: KW_ONLY
    message: str = ""
    record: InventoryEntry | None = None

    def __str__(self) -> str:
        text = f"{self.ref} {self.action}"
        return f"{text} ({self.message})" if self.message else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "object": str(self.ref),
            "group": self.ref.group,
            "kind": self.ref.kind,
            "namespace": self.ref.namespace,
            "name": self.ref.name,
            "action": str(self.action),
            "message": self.message,
        }


class ChangeSet:
    """An ordered collection of entries, at most one per object (a later one replaces)."""

    def __init__(self, entries: Iterable[ChangeSetEntry] = ()) -> None:
        self._entries: dict[ObjectRef, ChangeSetEntry] = {}
        self._durations: dict[Step, float] = {}
        self.extend(entries)

    def add(self, entry: ChangeSetEntry) -> None:
        self._entries.pop(entry.ref, None)
        self._entries[entry.ref] = entry

    def extend(self, entries: Iterable[ChangeSetEntry]) -> None:
        for entry in entries:
            self.add(entry)

    def __iter__(self) -> Iterator[ChangeSetEntry]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, ref: object) -> bool:
        return ref in self._entries

    def get(self, ref: ObjectRef) -> ChangeSetEntry | None:
        return self._entries.get(ref)

    def counts(self) -> dict[Action, int]:
        """How many objects per action, every action present (zero included)."""
        counts = dict.fromkeys(_ORDER, 0)
        for entry in self._entries.values():
            counts[entry.action] += 1
        return counts

    @property
    def changed(self) -> bool:
        """Whether anything was written or deleted."""
        return any(
            e.action in (Action.CREATED, Action.CONFIGURED, Action.DELETED)
            for e in self._entries.values()
        )

    @contextmanager
    def timing(self, step: Step) -> Iterator[None]:
        """Add the time spent in the block to `step` (a step may run more than once)."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.add_duration(step, time.monotonic() - started)

    def add_duration(self, step: Step, seconds: float) -> None:
        self._durations[step] = self._durations.get(step, 0.0) + max(0.0, seconds)

    @property
    def durations(self) -> dict[Step, float]:
        """Seconds per step that ran, in the order steps run (a step that did not run is absent)."""
        return {step: self._durations[step] for step in Step if step in self._durations}

    def timings(self) -> str:
        """One line for a log: `dry-run 3.81s, apply 13.27s, inventory 0.12s`."""
        return ", ".join(f"{step} {seconds:.2f}s" for step, seconds in self.durations.items())

    def summary(self) -> str:
        """One line for a log or a note: `2 created, 1 configured, 40 unchanged`."""
        parts = [f"{n} {action}" for action, n in self.counts().items() if n]
        return ", ".join(parts) if parts else "no objects"

    def lines(self) -> list[str]:
        """One line per object that did not stay unchanged, in the order they happened."""
        return [str(e) for e in self._entries.values() if e.action is not Action.UNCHANGED]

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": {str(action): n for action, n in self.counts().items()},
            "objects": [e.to_dict() for e in self._entries.values()],
            "durations": {str(step): round(s, 3) for step, s in self.durations.items()},
        }

    def __repr__(self) -> str:
        return f"ChangeSet({self.summary()})"
