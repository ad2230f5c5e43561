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
from orchestrator.record import Entry, Phase

Format = Literal["generic", "slack", "cloudevents"]
SIGNATURE_HEADER = "X-Orchestrator-Signature"
CLOUDEVENT_TYPE = "dev.orchestrator.delivery.phase"
_ICONS: dict[str, str] = {
    Phase.FAILED: ":x:",
    Phase.ROLLED_BACK: ":rewind:",
    Phase.HEALTHY: ":white_check_mark:",
}


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
        if self.environments and Entry.of(entry).environment not in self.environments:
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
    typed = Entry.of(entry)
    fields = {
        "environment": typed.environment,
        "revision": typed.revision,
        "delivery": typed.delivery,
        "stage": typed.stage,
        "message": typed.message,
        "health": typed.health,
        "gate": typed.gate,
        "rolledBackTo": typed.rolled_back_to,
    }
    out.update({key: value for key, value in fields.items() if value})
    if typed.promotions:
        out["promotions"] = [
            {k: v for k, v in (("target", p.target), ("ref", p.ref), ("commit", p.commit)) if v}
            for p in typed.promotions
        ]
    if typed.runs:
        out["runs"] = [
            {k: v for k, v in (("name", r.name), ("outcome", r.outcome)) if v} for r in typed.runs
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
