"""The report stage: what an environment's agent tells the world besides its git note.

Every note entry is a phase change of one revision in one environment; the note stays
the source of truth, and the report stage mirrors each entry, best effort, to

- a Kubernetes Event (`events.py`) in the agent's namespace, about the environment's
  inventory Secret, so `kubectl events` shows the delivery history next to the objects;
- notification targets (`notify.py`): a generic JSON webhook signed with HMAC-SHA256,
  Slack-compatible incoming webhooks and CloudEvents, routed per environment and phase,
  sent from a background queue with retries (`sender.py`) so a slow endpoint never
  holds a reconcile back.

What leaves the agent is built from the note entry only: names, phases, health
summaries and messages, never object contents, so no Secret data can be in it.
"""

from orchestrator.report.events import EventSink, phase_event
from orchestrator.report.notify import Message, Route, render
from orchestrator.report.reporter import Reporter
from orchestrator.report.sender import Sender

__all__ = ["EventSink", "Message", "Reporter", "Route", "Sender", "phase_event", "render"]
