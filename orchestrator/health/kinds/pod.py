"""Pod: Running and Ready, or Succeeded; container waiting reasons explain the rest.

Where we part from kstatus, and why:

- `phase: Failed` is Failed here (kstatus calls it Current because it expects a
  controller to replace the pod; a pod in a delivery is nobody's replica, and
  the phase is terminal).
- `CrashLoopBackOff` is Degraded, not Failed: a container that crashes until a
  database in the same delivery comes up recovers by itself, and no restart
  count proves it never will. The wait's timeout bounds it. So is a container
  caught between two restarts (`state.terminated` with a non-zero exit code
  while the pod restarts it): it crashed, and the message gives the exit code
  and reason rather than a bare "not ready".
- `ImagePullBackOff` / `ErrImagePull` are Degraded: the image may not be pushed
  yet (the build races the promotion), the registry may be down, a pull secret
  may arrive later. `CreateContainerConfigError` (a missing ConfigMap or Secret
  key) is Degraded for the same reason. Every waiting reason that starts with
  `Err` or ends in `Error` or `BackOff` is treated alike; gitops-engine reads
  these reasons the same way, but only for `restartPolicy: Always`.
- `InvalidImageName` is Failed: the reference cannot be parsed, so only a new
  manifest fixes it.
- A running pod with `restartPolicy` Never or OnFailure is a task, not a
  server: it is Progressing until it succeeds, even when Ready (as in
  gitops-engine, and as a running Job is). A task's container waiting in
  `CrashLoopBackOff` (OnFailure restarts it) is still Degraded here, unlike
  gitops-engine, which does not look at container states for such pods and
  says Progressing: a crash loop is a crash loop whatever restarts it.
- `Unschedulable` is Degraded (kstatus: Failed after 15 s): an autoscaler may
  add a node, and a pure function has no clock to count seconds with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from orchestrator.health.live import (
    Verdict,
    condition,
    get_str,
    labelled,
    lookup,
    not_yet_observed,
    stale_condition,
)
from orchestrator.health.status import HealthStatus

__all__ = ["check"]

FATAL_WAITING_REASONS = frozenset({"InvalidImageName"})


def check(obj: Mapping[str, Any]) -> Verdict:
    if (early := not_yet_observed(obj)) is not None:
        return early
    phase = get_str(obj, "status", "phase")
    by_phase = _PHASES.get(phase)
    if by_phase is None:
        return HealthStatus.UNKNOWN, labelled(f"phase {phase}", _pod_message(obj))
    return by_phase(obj)


def _pod_message(obj: Mapping[str, Any]) -> str:
    return get_str(obj, "status", "message") or get_str(obj, "status", "reason")


def _succeeded(obj: Mapping[str, Any]) -> Verdict:
    return HealthStatus.HEALTHY, "completed successfully"


def _failed(obj: Mapping[str, Any]) -> Verdict:
    detail = _pod_message(obj) or _terminated_detail(obj)
    return HealthStatus.FAILED, labelled("pod failed", detail)


def _no_phase(obj: Mapping[str, Any]) -> Verdict:
    return HealthStatus.PROGRESSING, "waiting for the kubelet to report a phase"


def _pending(obj: Mapping[str, Any]) -> Verdict:
    if (stuck := _waiting_problem(obj) or _crashed(obj)) is not None:
        return stuck
    scheduled = condition(obj, "PodScheduled")
    if scheduled is not None and scheduled.status == "False":
        if scheduled.reason == "Unschedulable":
            return HealthStatus.DEGRADED, labelled("unschedulable", scheduled.message)
        return HealthStatus.PROGRESSING, labelled("not yet scheduled", scheduled.describe())
    return HealthStatus.PROGRESSING, labelled("pending", _pod_message(obj) or _waiting_reason(obj))


def _running(obj: Mapping[str, Any]) -> Verdict:
    if (stuck := _waiting_problem(obj) or _crashed(obj)) is not None:
        return stuck
    if get_str(obj, "spec", "restartPolicy", default="Always") != "Always":
        return HealthStatus.PROGRESSING, "running: waiting for the pod to run to completion"
    ready = condition(obj, "Ready")
    if ready is not None and ready.status == "True":
        # Since Kubernetes 1.33 pod conditions may say which generation they saw.
        return stale_condition(obj, ready) or (HealthStatus.HEALTHY, "running and ready")
    detail = ready.describe() if ready is not None else ""
    return HealthStatus.PROGRESSING, labelled("running but not ready", detail)


_PHASES: dict[str, Callable[[Mapping[str, Any]], Verdict]] = {
    "Succeeded": _succeeded,
    "Failed": _failed,
    "Pending": _pending,
    "Running": _running,
    "": _no_phase,
}


def _container_statuses(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for field in ("initContainerStatuses", "containerStatuses"):
        raw = lookup(obj, "status", field)
        if isinstance(raw, Sequence) and not isinstance(raw, str):
            found.extend(item for item in raw if isinstance(item, Mapping))
    return found


def _waiting_problem(obj: Mapping[str, Any]) -> Verdict | None:
    """The first container waiting for a reason that signals trouble; Failed beats Degraded."""
    worst: Verdict | None = None
    for status in _container_statuses(obj):
        reason = lookup(status, "state", "waiting", "reason")
        if not isinstance(reason, str) or not _is_problem(reason):
            continue
        name = status.get("name", "?")
        message = lookup(status, "state", "waiting", "message")
        text = labelled(f"container {name}: {reason}", message if isinstance(message, str) else "")
        if reason in FATAL_WAITING_REASONS:
            return HealthStatus.FAILED, text
        if worst is None:
            worst = HealthStatus.DEGRADED, text
    return worst


def _crashed(obj: Mapping[str, Any]) -> Verdict | None:
    """Degraded for a container that exited non-zero and will be restarted: a crash.

    Between two restarts of a crash loop the kubelet reports the container as
    terminated, not yet waiting in CrashLoopBackOff. With `restartPolicy:
    Never` nothing restarts it; the pod's phase then tells the outcome.
    """
    if get_str(obj, "spec", "restartPolicy", default="Always") == "Never":
        return None
    for status in _container_statuses(obj):
        terminated = lookup(status, "state", "terminated")
        if not isinstance(terminated, Mapping):
            continue
        code = terminated.get("exitCode")
        if not isinstance(code, int) or isinstance(code, bool) or code == 0:
            continue
        why = ": ".join(
            str(part) for part in (terminated.get("reason"), terminated.get("message")) if part
        )
        restarts = status.get("restartCount")
        count = f" ({restarts} restart(s))" if isinstance(restarts, int) else ""
        text = f"container {status.get('name', '?')} crashed: exit code {code}"
        return HealthStatus.DEGRADED, labelled(text, why) + count
    return None


def _waiting_reason(obj: Mapping[str, Any]) -> str:
    """What the first waiting container waits for (ContainerCreating, PodInitializing)."""
    for status in _container_statuses(obj):
        reason = lookup(status, "state", "waiting", "reason")
        if isinstance(reason, str) and reason:
            return f"container {status.get('name', '?')}: {reason}"
    return ""


def _is_problem(reason: str) -> bool:
    return (
        reason in FATAL_WAITING_REASONS
        or reason.startswith("Err")
        or reason.endswith(("Error", "BackOff"))
    )


def _terminated_detail(obj: Mapping[str, Any]) -> str:
    """Why the first container that ended badly ended, for a pod without a message."""
    for status in _container_statuses(obj):
        terminated = lookup(status, "state", "terminated")
        if not isinstance(terminated, Mapping):
            continue
        code = terminated.get("exitCode")
        if code == 0:
            continue
        name = status.get("name", "?")
        why = terminated.get("message") or terminated.get("reason") or f"exit code {code}"
        return f"container {name}: {why}"
    return ""
