"""Notification messages for a note entry: generic JSON, Slack-compatible, CloudEvents.

- `generic`: the entry as one JSON object (`application/json`).
- `slack`: `{"text": ...}`, which Slack incoming webhooks, Mattermost, Rocket.Chat and
  Microsoft Teams workflows accept.
- `cloudevents`: a CloudEvents 1.0 structured-mode event
  (`application/cloudevents+json`) of type `dev.orchestrator.delivery.phase`, the
  generic payload as its `data`.

With a secret, the body is signed as GitHub signs its webhooks: header
`X-Orchestrator-Signature: sha256=<hex HMAC-SHA256 of the body>`. The body carries the
entry's time and id, so a receiver can refuse replays. Only the note entry's own fields
go out (names, phases, health summaries, messages), never object contents.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal

from orchestrator.gitbus.protocol import NoteEntry

Format = Literal["generic", "slack", "cloudevents"]
SIGNATURE_HEADER = "X-Orchestrator-Signature"
CLOUDEVENT_TYPE = "dev.orchestrator.delivery.phase"
_PAYLOAD_FIELDS = (
    "environment",
    "revision",
    "delivery",
    "stage",
    "message",
    "health",
    "gate",
    "rolledBackTo",
)
_ICONS = {"Failed": ":x:", "RolledBack": ":rewind:", "Healthy": ":white_check_mark:"}


@dataclass(frozen=True, kw_only=True)
class Route:
    """One notification target, and which phase changes of which environments it gets."""

    name: str
    url: str
    format: Format = "generic"
    secret: str | None = None
    environments: frozenset[str] = frozenset()  # empty: every environment
    phases: frozenset[str] = frozenset()  # empty: every phase

    def wants(self, entry: NoteEntry) -> bool:
        environment = str(entry.fields.get("environment", ""))
        if self.environments and environment not in self.environments:
            return False
        return not self.phases or entry.phase in self.phases

    def __repr__(self) -> str:  # the URL (a Slack URL is a credential) and secret stay out
        return f"Route(name={self.name!r}, format={self.format!r})"


@dataclass(frozen=True, kw_only=True)
class Message:
    """One HTTP POST, ready to send."""

    route: Route
    body: bytes
    headers: dict[str, str]
    entry_id: str


def payload(entry: NoteEntry) -> dict[str, Any]:
    """The generic notification: the entry's identity and the fields people act on."""
    out: dict[str, Any] = {"id": entry.id, "at": entry.at, "agent": entry.agent}
    out["phase"] = entry.phase
    for key in _PAYLOAD_FIELDS:
        value = entry.fields.get(key)
        if value not in (None, ""):
            out[key] = value
    promotions = entry.fields.get("promotions")
    if isinstance(promotions, list):
        out["promotions"] = [
            {k: p[k] for k in ("target", "ref", "commit") if k in p}
            for p in promotions
            if isinstance(p, dict)
        ]
    runs = entry.fields.get("runs")
    if isinstance(runs, list):
        out["runs"] = [
            {k: r[k] for k in ("name", "outcome") if k in r} for r in runs if isinstance(r, dict)
        ]
    return out


def render(entry: NoteEntry, route: Route) -> Message:
    """The message `route` gets for `entry`."""
    data = payload(entry)
    content_type = "application/json"
    document: dict[str, Any]
    if route.format == "slack":
        document = {"text": _slack_text(data)}
    elif route.format == "cloudevents":
        content_type = "application/cloudevents+json"
        document = {
            "specversion": "1.0",
            "type": CLOUDEVENT_TYPE,
            "source": f"orchestrator/{data.get('environment', '')}",
            "id": entry.id,
            "time": entry.at,
            "subject": str(data.get("revision", "")),
            "datacontenttype": "application/json",
            "data": data,
        }
    else:
        document = data
    body = json.dumps(document, sort_keys=True, ensure_ascii=False).encode()
    headers = {"Content-Type": content_type, "User-Agent": "orchestrator"}
    if route.secret:
        headers[SIGNATURE_HEADER] = sign(body, route.secret)
    return Message(route=route, body=body, headers=headers, entry_id=entry.id)


def sign(body: bytes, secret: str) -> str:
    """`sha256=<hex>`: the value of the signature header for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _slack_text(data: dict[str, Any]) -> str:
    phase = str(data["phase"])
    revision = str(data.get("revision", ""))[:12]
    head = f"{_ICONS.get(phase, ':information_source:')} *{data.get('environment', '')}*"
    if data.get("delivery"):
        head += f" {data['delivery']}"
    head += f" `{revision}` {phase}"
    detail = data.get("message") or data.get("health") or ""
    if data.get("stage"):
        detail = f"{data['stage']}: {detail}"
    return f"{head}\n{detail}" if detail else head
