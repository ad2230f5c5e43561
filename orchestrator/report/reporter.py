"""Mirrors each note entry the agent writes to Events, notification targets and a forge."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from orchestrator.errors import KubeError
from orchestrator.gitbus.protocol import NoteEntry
from orchestrator.report.events import EventSink, phase_event
from orchestrator.report.forge_gates import ForgeGates
from orchestrator.report.notify import Route, render
from orchestrator.report.sender import Sender

log = logging.getLogger("orchestrator.report")
FIELD_MANAGER = "orchestrator-events"


class Reporter:
    """Best effort by design: the note is the record; a report that fails is logged, and
    the reconcile goes on."""

    def __init__(
        self,
        *,
        namespace: str,
        regarding: str,
        reporting_instance: str,
        events: EventSink | None = None,
        routes: Sequence[Route] = (),
        sender: Sender | None = None,
        forge: ForgeGates | None = None,
    ) -> None:
        self.namespace = namespace
        self.regarding = regarding
        self.reporting_instance = reporting_instance
        self.events = events
        self.routes = tuple(routes)
        self.sender = sender
        self.forge = forge
        if self.routes and sender is None:
            raise ValueError("notification routes need a sender")

    def __call__(self, entry: NoteEntry) -> None:
        self._event(entry)
        for route in self.routes:
            if route.wants(entry) and self.sender is not None:
                self.sender.submit(render(entry, route))
        if self.forge is not None:
            try:
                self.forge(entry)
            except Exception:  # the note is written; a mirror's bug must not fail the reconcile
                log.exception("forge: cannot take the %s entry", entry.phase)

    def start(self) -> None:
        """Start the background senders: notifications and the forge mirror."""
        if self.sender is not None:
            self.sender.start()
        if self.forge is not None:
            self.forge.start()

    def stop(self) -> None:
        if self.sender is not None:
            self.sender.stop()
        if self.forge is not None:
            self.forge.stop()

    def _event(self, entry: NoteEntry) -> None:
        if self.events is None:
            return
        event = phase_event(
            entry,
            namespace=self.namespace,
            regarding=self.regarding,
            reporting_instance=self.reporting_instance,
        )
        try:
            self.events.create(event, field_manager=FIELD_MANAGER)
        except KubeError as exc:
            if "already exists" not in str(exc).lower():  # the same entry, written again
                log.warning("cannot record the %s event: %s", entry.phase, exc)
