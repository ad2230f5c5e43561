"""Read a server-side apply conflict (HTTP 409) into managers and fields.

The API server says who owns what twice: in `details.causes` (one cause per
field, `reason: FieldManagerConflict`, `message: conflict with "<manager>" ...`,
`field: .data.key`) and in the message text:

    Apply failed with 2 conflicts: conflicts with "other":
    - .data.a
    - .data.b

Causes are preferred; the text is the fallback when a server or proxy dropped
the details. Managers that wrote with an update (not an apply) are named the
same way, sometimes followed by `with subresource "status"` or `using apps/v1`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_MANAGER = re.compile(r'conflicts? with "((?:[^"\\]|\\.)*)"')
_FIELD_LINE = re.compile(r"^\s*-\s+(\S.*?)\s*$")
_ONE_FIELD = re.compile(r'conflict with "(?:[^"\\]|\\.)*"[^:\n]*:\s+(\.\S+)\s*$')


@dataclass(frozen=True, slots=True)
class Conflict:
    """One contested field and the manager that owns it."""

    manager: str
    field: str


def parse_conflicts(message: str, details: Mapping[str, Any] | None = None) -> list[Conflict]:
    """Every (manager, field) pair a 409 apply response names, in the server's order."""
    found: list[Conflict] = []
    causes = (details or {}).get("causes") or []
    if isinstance(causes, Sequence):
        for cause in causes:
            if not isinstance(cause, Mapping):
                continue
            if cause.get("reason") not in (None, "FieldManagerConflict"):
                continue
            match = _MANAGER.search(str(cause.get("message") or ""))
            if match:
                found.append(Conflict(_unescape(match.group(1)), str(cause.get("field") or "")))
    if found:
        return found
    return _from_message(message)


def managers_of(conflicts: Sequence[Conflict]) -> list[str]:
    """The distinct managers, in first-seen order."""
    return list(dict.fromkeys(c.manager for c in conflicts))


def _from_message(message: str) -> list[Conflict]:
    found: list[Conflict] = []
    manager = ""
    for line in message.splitlines():
        match = _MANAGER.search(line)
        if match:
            manager = _unescape(match.group(1))
            single = _ONE_FIELD.search(line)
            if single:
                found.append(Conflict(manager, single.group(1)))
            continue
        field = _FIELD_LINE.match(line)
        if field and manager:
            found.append(Conflict(manager, field.group(1)))
    if not found and manager:
        found.append(Conflict(manager, ""))
    return found


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)
