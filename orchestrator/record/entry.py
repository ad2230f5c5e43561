"""A note entry read as typed data: the one place that knows the JSON field names.

`gitbus.protocol.NoteEntry` keeps an entry verbatim (unknown fields ride along);
`Entry` is the typed view every reader above the bus uses, so a field's name,
its type and its default are decided once. Values of the wrong type read as
absent: a note is written by other tools too, and a malformed one must not stop
a reader. `docs/protocol.md` documents the fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.gitbus.protocol import JSONValue, NoteDocument, NoteEntry


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _texts(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _mappings(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


@dataclass(frozen=True, slots=True, kw_only=True)
class PromotionRecord:
    """One target of a promotion, as a note records it.

    `commit` is None when nothing was pushed for it (a refused, superseded push);
    then `superseded_by` names the newer revision the target already holds.
    """

    target: str
    ref: str | None = None
    commit: str | None = None
    pushed: bool = False
    superseded_by: str = ""
    message: str = ""

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> PromotionRecord | None:
        """The record, or None when it names no target."""
        target = raw.get("target")
        if not isinstance(target, str):
            return None
        ref, commit = raw.get("ref"), raw.get("commit")
        return cls(
            target=target,
            ref=ref if isinstance(ref, str) else None,
            commit=commit if isinstance(commit, str) else None,
            pushed=bool(raw.get("pushed")),
            superseded_by=_text(raw.get("supersededBy")),
            message=_text(raw.get("message")),
        )

    def to_json(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {
            "target": self.target,
            "ref": self.ref or "",
            "commit": self.commit,
            "pushed": self.pushed,
        }
        if self.superseded_by:
            out["supersededBy"] = self.superseded_by
        if self.message:
            out["message"] = self.message
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """A verification run's outcome as a note records it (the rest stays in `raw`)."""

    name: str
    outcome: str
    message: str = ""
    raw: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectRecord:
    """One object a reconcile touched: its `Kind/namespace/name`, action and health."""

    object: str
    action: str = ""
    health: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One note entry with typed fields; `note` is the entry as it is on the bus."""

    note: NoteEntry
    environment: str = ""
    revision: str = ""
    delivery: str = ""
    started: str = ""
    stage: str = ""
    message: str = ""
    error: str = ""  # what entries of older agents carried instead of `message`
    health: str = ""
    gate: str = ""
    rolled_back_to: str = ""
    verified_on: str = ""
    changes: Mapping[str, int] | None = None
    objects: tuple[ObjectRecord, ...] = ()
    objects_omitted: int = 0
    runs: tuple[RunRecord, ...] = ()
    promotions: tuple[PromotionRecord, ...] = ()
    conflicts: tuple[str, ...] = ()
    deliveries: tuple[str, ...] = ()  # what a snapshot promotion carries
    writer: str = ""
    fencing_token: int | None = None

    @property
    def id(self) -> str:
        return self.note.id

    @property
    def at(self) -> str:
        return self.note.at

    @property
    def agent(self) -> str:
        return self.note.agent

    @property
    def phase(self) -> str:
        """A `Phase` word (compares equal to `Phase` members); other tools may add others."""
        return self.note.phase

    @property
    def superseded_by(self) -> str:
        """The newer revision a target already held when this one's push was refused."""
        return next((p.superseded_by for p in self.promotions if p.superseded_by), "")

    @classmethod
    def of(cls, note: NoteEntry) -> Entry:
        """The typed view of `note`."""
        fields = note.fields
        return cls(
            note=note,
            **{name: _text(fields.get(key)) for name, key in _TEXT_FIELDS.items()},
            health=_health(fields.get("health")),
            changes=_counts(fields.get("changes")),
            objects=tuple(
                ObjectRecord(
                    object=_text(o.get("object")),
                    action=_text(o.get("action")),
                    health=_text(o.get("health")),
                )
                for o in _mappings(fields.get("objects"))
            ),
            objects_omitted=_int(fields.get("objectsOmitted")) or 0,
            runs=tuple(
                RunRecord(
                    name=_text(r.get("name")),
                    outcome=_text(r.get("outcome")),
                    message=_text(r.get("message")),
                    raw=r,
                )
                for r in _mappings(fields.get("runs"))
            ),
            promotions=tuple(
                record
                for record in map(PromotionRecord.from_json, _mappings(fields.get("promotions")))
                if record is not None
            ),
            conflicts=_texts(fields.get("conflicts")),
            deliveries=_texts(fields.get("deliveries")),
            fencing_token=_int(fields.get("fencingToken")),
        )


_TEXT_FIELDS = {
    "environment": "environment",
    "revision": "revision",
    "delivery": "delivery",
    "started": "started",
    "stage": "stage",
    "message": "message",
    "error": "error",
    "gate": "gate",
    "rolled_back_to": "rolledBackTo",
    "verified_on": "verifiedOn",
    "writer": "writer",
}


def _health(value: object) -> str:
    """The agent writes a one-line summary; the protocol example maps object -> word."""
    if isinstance(value, dict) and value:
        healthy = sum(1 for v in value.values() if str(v).lower() == "healthy")
        return f"{healthy}/{len(value)} healthy"
    return _text(value)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _counts(value: object) -> Mapping[str, int] | None:
    if not isinstance(value, dict):
        return None
    return {k: v for k, v in value.items() if isinstance(k, str) and _int(v) is not None}


def entries_of(source: NoteDocument | Iterable[NoteEntry] | None) -> list[Entry]:
    """The typed entries of a note (in its order), or of a sequence of raw entries."""
    if source is None:
        return []
    raw: Iterable[NoteEntry] = source.entries if isinstance(source, NoteDocument) else source
    return [Entry.of(e) for e in raw]


def latest(source: NoteDocument | Sequence[NoteEntry] | None) -> Entry | None:
    """The newest entry of a note, typed."""
    entries = entries_of(source)
    return entries[-1] if entries else None
