"""An API server's refusal as the project's own exception, named after the object.

Works on what every client exception carries (`status`, `body`, `reason`), so
it needs no `kubernetes` import of its own.
"""

from __future__ import annotations

import json
from typing import Any

from orchestrator.errors import (
    ApplyFailed,
    ClusterUnreachable,
    FieldConflict,
    Forbidden,
    KubeError,
    NotFound,
    PreconditionFailed,
)
from orchestrator.kube.conflicts import managers_of, parse_conflicts
from orchestrator.objectref import ObjectRef

# Statuses that mean the server (or a proxy before it) could not answer. A plain 500
# is an answer: server-side apply, for one, reports a value of the wrong type with it.
UNAVAILABLE = frozenset({502, 503, 504})


def _status_message(exc: Exception) -> tuple[int, str, dict[str, Any]]:
    status = int(getattr(exc, "status", 0) or 0)
    body = getattr(exc, "body", None)
    try:
        parsed: dict[str, Any] = json.loads(body) if body else {}
    except (TypeError, ValueError):
        parsed = {}
    message = str(parsed.get("message") or getattr(exc, "reason", "") or exc)
    return status, message, parsed


def translate(exc: Exception, *, server: str, ref: ObjectRef | None, action: str) -> KubeError:
    status, message, parsed = _status_message(exc)
    text = f"{action}: {message}"
    if status in (401, 403):
        return Forbidden(text, ref=ref, reason=message)
    if status == 409 and action.startswith("apply") and parsed.get("reason") == "Conflict":
        conflicts = parse_conflicts(message, parsed.get("details"))
        return FieldConflict(
            text,
            ref=ref,
            reason=message,
            managers=managers_of(conflicts),
            fields=[c.field for c in conflicts if c.field],
        )
    if status == 0 or status in UNAVAILABLE:
        return ClusterUnreachable(f"{server}: {text}", ref=ref, reason=message)
    if action.startswith("apply"):
        return ApplyFailed(text, ref=ref, reason=message)
    error: type[KubeError] = KubeError
    if status == 404:
        error = NotFound
    elif status == 409 and action == "delete":
        error = PreconditionFailed  # a delete with a uid precondition met another object
    return error(text, ref=ref, reason=message)
