"""The health vocabulary: one status per object, the worst of them per delivery.

Severity, lowest to highest, and why in this order:

    Healthy < Progressing < Unknown < Degraded < Failed

- Healthy: the controller has observed the current generation and reports the
  desired state.
- Progressing: there is evidence of movement towards Healthy (a rollout under
  way, a controller that has not yet caught up). Waiting is the right answer.
- Unknown: we cannot tell (a phase we do not know, a node that stopped
  reporting). It ranks above Progressing because "no evidence" is worse than
  "evidence of progress": a delivery must not look as if it were on its way
  when part of it is a blind spot.
- Degraded: positive evidence that the object is not serving as desired, but it
  may recover without a change to the delivery (a crash loop that waits for a
  database, an image pull that waits for a registry, an unschedulable pod that
  waits for the autoscaler). Worse than Unknown because we know something is
  wrong; not final, so a wait may continue until its timeout.
- Failed: certain not to become healthy without a change (a Deployment past its
  progress deadline, a Job with Failed=True, a PVC whose volume is Lost, an
  invalid image name). A wait can stop at once.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from orchestrator.objectref import ObjectRef

__all__ = ["DeliveryHealth", "HealthStatus", "ObjectHealth", "worst"]

# A summary goes into a one-line commit trailer; keep it readable in `git log`.
SUMMARY_MAX_CHARS = 200


class HealthStatus(enum.Enum):
    """The health of one object, or of a delivery (the worst of its objects)."""

    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    UNKNOWN = "Unknown"
    DEGRADED = "Degraded"
    FAILED = "Failed"

    @property
    def severity(self) -> int:
        """Rank in the order documented in this module (Healthy is 0)."""
        return _SEVERITY[self]

    def __str__(self) -> str:
        return self.value


_SEVERITY: dict[HealthStatus, int] = {
    status: rank
    for rank, status in enumerate(
        (
            HealthStatus.HEALTHY,
            HealthStatus.PROGRESSING,
            HealthStatus.UNKNOWN,
            HealthStatus.DEGRADED,
            HealthStatus.FAILED,
        )
    )
}


def worst(statuses: Iterable[HealthStatus]) -> HealthStatus:
    """The most severe status; Healthy for none (an empty delivery has nothing wrong)."""
    return max(statuses, key=lambda s: s.severity, default=HealthStatus.HEALTHY)


@dataclass(frozen=True, slots=True)
class ObjectHealth:
    """The verdict on one live object, with a message a person can act on."""

    ref: ObjectRef
    status: HealthStatus
    message: str

    def __str__(self) -> str:
        return f"{self.ref}: {self.status}: {self.message}"


@dataclass(frozen=True, slots=True)
class DeliveryHealth:
    """The verdict on a whole delivery: the worst of its objects.

    `objects` keeps the caller's order (the apply order), so the object named
    in `summary` is stable from one check to the next.
    """

    objects: tuple[ObjectHealth, ...]

    @classmethod
    def of(cls, objects: Iterable[ObjectHealth]) -> DeliveryHealth:
        return cls(objects=tuple(objects))

    @property
    def status(self) -> HealthStatus:
        return worst(o.status for o in self.objects)

    @property
    def healthy(self) -> bool:
        return self.status is HealthStatus.HEALTHY

    def not_healthy(self) -> Sequence[ObjectHealth]:
        """Every object that is not Healthy, worst first, ties in the caller's order."""
        rest = [o for o in self.objects if o.status is not HealthStatus.HEALTHY]
        return sorted(rest, key=lambda o: -o.status.severity)

    @property
    def summary(self) -> str:
        """One line for a commit trailer: `Healthy (12/12)` or `<Status>: <ref>: <message>`.

        Only the first of the worst objects is named (the rest are counted), and
        the line is flattened and capped so `git interpret-trailers` reads it.
        """
        total = len(self.objects)
        culprits = self.not_healthy()
        if not culprits:
            return f"Healthy ({total}/{total})"
        first = culprits[0]
        line = f"{first.status}: {first.ref}: {_one_line(first.message)}"
        more = f" (+{len(culprits) - 1} more)" if len(culprits) > 1 else ""
        room = SUMMARY_MAX_CHARS - len(more)
        if len(line) > room:
            line = line[: room - 3].rstrip() + "..."
        return line + more


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "no message"
