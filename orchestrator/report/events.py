"""A note entry as a Kubernetes Event (events.k8s.io/v1), the way controllers report.

The Event is about the environment's inventory Secret (`orchestrator-inventory-<env>`,
the agent's own record of what the environment runs), in the agent's namespace, where
its RBAC already allows creating events. `reason` is the phase, `action` the failed
stage (or `Reconcile`), `note` says which revision and delivery and why. The Event's
name is derived from the entry's id, so writing the same entry twice is one Event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from orchestrator.gitbus.protocol import NoteEntry
from orchestrator.record import Entry, Phase

REPORTING_CONTROLLER = "orchestrator.dev/agent"
_WARNING_PHASES = frozenset({Phase.FAILED, Phase.ROLLED_BACK})
_NOTE_LIMIT = 1024  # the API server refuses a longer note
_FIELD_LIMIT = 128  # reason, action and reportingInstance


class EventSink(Protocol):
    """Where Events go: `KubeClient.create` in the agent, a list in unit tests."""

    def create(self, obj: dict[str, Any], *, field_manager: str) -> dict[str, Any]: ...


def phase_event(
    entry: NoteEntry, *, namespace: str, regarding: str, reporting_instance: str
) -> dict[str, Any]:
    """The Event for one note entry, about the Secret named `regarding`."""
    typed = Entry.of(entry)
    summary = f"{typed.environment}@{typed.revision[:12]}"
    if typed.delivery:
        summary += f" ({typed.delivery})"
    detail = typed.message or typed.health
    note = f"{summary}: {entry.phase}" + (f": {detail}" if detail else "")
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {
            "name": f"{regarding}.{entry.id}"[:253],
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "orchestrator"},
        },
        "eventTime": _micro_time(entry.at),
        "reportingController": REPORTING_CONTROLLER,
        "reportingInstance": reporting_instance[:_FIELD_LIMIT],
        "action": (typed.stage or "Reconcile")[:_FIELD_LIMIT],
        "reason": entry.phase[:_FIELD_LIMIT],
        "type": "Warning" if entry.phase in _WARNING_PHASES else "Normal",
        "note": _truncate(note, _NOTE_LIMIT),
        "regarding": {
            "apiVersion": "v1",
            "kind": "Secret",
            "namespace": namespace,
            "name": regarding,
        },
    }


def _micro_time(at: str) -> str:
    """The API server's MicroTime wants exactly six fraction digits; older entries have none."""
    return datetime.fromisoformat(at).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _truncate(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "..."
