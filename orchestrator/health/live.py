"""Reading a live object (a plain dict from the API) without trusting its shape.

Every status function goes through these helpers, so a malformed or
half-written status (a controller that has not run yet, a field of the wrong
type) yields a default instead of an exception: a health check must never
crash the agent. `not_yet_observed` is the one rule every verdict shares: a
status is only trusted when the controller has seen the current generation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.health.status import HealthStatus

__all__ = [
    "Condition",
    "Verdict",
    "condition",
    "conditions",
    "first_unmet",
    "get_int",
    "get_str",
    "labelled",
    "lookup",
    "not_yet_observed",
    "stale_condition",
]

# What every status function returns: a status and a human message.
Verdict = tuple[HealthStatus, str]


def lookup(obj: Mapping[str, Any], *path: str) -> Any:
    """The value at a path of mapping keys, or None when any step is missing."""
    node: Any = obj
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def get_int(obj: Mapping[str, Any], *path: str, default: int) -> int:
    """An integer field; `default` when absent or not an integer (bools are not)."""
    value = lookup(obj, *path)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return default


def get_str(obj: Mapping[str, Any], *path: str, default: str = "") -> str:
    value = lookup(obj, *path)
    return value if isinstance(value, str) else default


def first_unmet(*gates: tuple[bool, str]) -> str | None:
    """The message of the first gate that is not passed, in order; None when all pass.

    Status functions list what a rollout waits for as (passed, message) pairs,
    most fundamental first, so the message names the first thing still missing.
    """
    return next((message for passed, message in gates if not passed), None)


def labelled(label: str, detail: str) -> str:
    """`label: detail`, or just the label when there is no detail to add."""
    return f"{label}: {detail}" if detail else label


@dataclass(frozen=True, slots=True)
class Condition:
    """One entry of `status.conditions`, with the fields every convention shares."""

    type: str
    status: str
    reason: str = ""
    message: str = ""
    # metav1.Condition carries the generation it was computed from; older
    # condition types (Deployment, Job, CRD) do not, and then this is None.
    observed_generation: int | None = None

    def describe(self) -> str:
        """`reason: message`, or whichever of them exists."""
        return ": ".join(p for p in (self.reason, self.message) if p)


def conditions(obj: Mapping[str, Any]) -> list[Condition]:
    """The well-formed entries of `status.conditions`, in the object's order."""
    raw = lookup(obj, "status", "conditions")
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return []
    found = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        ctype, cstatus = item.get("type"), item.get("status")
        if not isinstance(ctype, str) or not isinstance(cstatus, str):
            continue
        reason, message = item.get("reason"), item.get("message")
        observed = item.get("observedGeneration")
        found.append(
            Condition(
                type=ctype,
                status=cstatus,
                reason=reason if isinstance(reason, str) else "",
                message=message if isinstance(message, str) else "",
                observed_generation=(
                    observed
                    if isinstance(observed, int) and not isinstance(observed, bool)
                    else None
                ),
            )
        )
    return found


def condition(obj: Mapping[str, Any], ctype: str) -> Condition | None:
    """The first condition of a type (controllers write each type once)."""
    return next((c for c in conditions(obj) if c.type == ctype), None)


def stale_condition(obj: Mapping[str, Any], cond: Condition) -> Verdict | None:
    """Progressing when a condition says it was computed for an older generation.

    Only the conditions a verdict actually reads are checked: a controller may
    leave an unrelated condition untouched for generations.
    """
    generation = get_int(obj, "metadata", "generation", default=-1)
    observed = cond.observed_generation
    if observed is None or generation in (-1, observed):
        return None
    return (
        HealthStatus.PROGRESSING,
        f"waiting for controller to observe generation {generation} "
        f"(condition {cond.type} observed {observed})",
    )


def not_yet_observed(obj: Mapping[str, Any], *, require_observed: bool = False) -> Verdict | None:
    """Progressing while the object is terminating or its controller lags; else None.

    kstatus is lenient when an object reports no `status.observedGeneration`
    (many kinds never do); `require_observed` is for kinds whose controller
    always writes it (Deployment, StatefulSet, DaemonSet, ReplicaSet), where
    its absence means the controller has not acted on the object yet.
    """
    if lookup(obj, "metadata", "deletionTimestamp"):
        return HealthStatus.PROGRESSING, "terminating: the object is being deleted"
    generation = get_int(obj, "metadata", "generation", default=-1)
    observed = get_int(obj, "status", "observedGeneration", default=-1)
    if observed == -1:
        if require_observed and generation != -1:
            return (
                HealthStatus.PROGRESSING,
                f"waiting for controller to observe generation {generation}",
            )
        return None
    if generation not in (-1, observed):
        return (
            HealthStatus.PROGRESSING,
            f"waiting for controller to observe generation {generation} (observed {observed})",
        )
    return None
