"""The message format on the Git bus, as plain data (no pygit2 here).

Branches, notes refs, commit trailers and note documents are the only things
agents say to each other; the names of refs, identities and notes live here,
the commit trailers in `trailers`, and `docs/protocol.md` describes both for
other tools.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# --- branches and refs ---------------------------------------------------------

BRANCH_PREFIX = "refs/heads/"
NOTES_PREFIX = "refs/notes/orchestrator/"
# Candidates live under their own prefix: git cannot hold refs/heads/<env> and
# refs/heads/<env>/<feature> at once (a ref cannot be a file and a directory).
CANDIDATE_PREFIX = "pr"
# Operators' switches per environment (suspend/resume) live on control/<env>.
CONTROL_PREFIX = "control"
RESERVED_ENVS = frozenset({CANDIDATE_PREFIX, CONTROL_PREFIX})

# An environment name is one ref component that is also a DNS label, so it can
# name a branch, a notes ref and a cluster alike.
_ENV_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# A feature name is one ref component; git's own rules plus no leading dot/dash.
_FEATURE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$")


def check_env(env: str) -> str:
    """Return `env` if it is a valid environment name, else raise ValueError."""
    if not _ENV_RE.match(env) or env in RESERVED_ENVS:
        reserved = " or ".join(repr(name) for name in sorted(RESERVED_ENVS))
        raise ValueError(
            f"invalid environment name {env!r}: use [a-z0-9-], at most 63, not {reserved}"
        )
    return env


def check_feature(feature: str) -> str:
    """Return `feature` if it is a valid feature name, else raise ValueError."""
    if not _FEATURE_RE.match(feature) or ".." in feature or feature.endswith((".", ".lock")):
        raise ValueError(f"invalid feature name {feature!r}")
    return feature


def env_branch(env: str) -> str:
    """Full ref of the branch holding the desired state of `env`."""
    return BRANCH_PREFIX + check_env(env)


def feature_branch(env: str, feature: str) -> str:
    """Full ref of a candidate delivery `feature` waiting to merge into `env`."""
    return f"{BRANCH_PREFIX}{CANDIDATE_PREFIX}/{check_env(env)}/{check_feature(feature)}"


def feature_glob(env: str) -> str:
    """Watch pattern matching every candidate branch of `env`."""
    return f"{BRANCH_PREFIX}{CANDIDATE_PREFIX}/{check_env(env)}/*"


def notes_ref(env: str) -> str:
    """Notes ref where `env`'s agent records status (one per env: no contention)."""
    return NOTES_PREFIX + check_env(env)


NOTES_GLOB = NOTES_PREFIX + "*"


def control_ref(env: str) -> str:
    """Branch recording whether `env` is suspended: a commit per suspend and resume."""
    return f"{BRANCH_PREFIX}{CONTROL_PREFIX}/{check_env(env)}"


CONTROL_GLOB = f"{BRANCH_PREFIX}{CONTROL_PREFIX}/*"
# On the control branch's tip: present while the environment is suspended.
SUSPENDED_FILE = "suspended.json"
SUSPENDED = "Suspended"  # trailer of control commits: true or false


def parse_branch(ref: str) -> tuple[str, str | None] | None:
    """(env, feature or None) for a protocol branch ref, None for any other ref."""
    if not ref.startswith(BRANCH_PREFIX):
        return None
    parts = ref[len(BRANCH_PREFIX) :].split("/")
    try:
        if len(parts) == 1:
            return check_env(parts[0]), None
        if len(parts) == 3 and parts[0] == CANDIDATE_PREFIX:
            return check_env(parts[1]), check_feature(parts[2])
    except ValueError:
        return None
    return None


def ref_matches(pattern: str, ref: str) -> bool:
    """Match a watch pattern against a full ref name.

    `*` matches within one path component (never a `/`), like git's wildmatch
    with WM_PATHNAME: `refs/heads/pr/staging/*` matches `refs/heads/pr/staging/x`
    but neither `refs/heads/pr/staging` nor `refs/heads/pr/staging/x/y`.
    """
    if "*" not in pattern:
        return pattern == ref
    regex = "^" + "[^/]*".join(re.escape(part) for part in pattern.split("*")) + "$"
    return re.match(regex, ref) is not None


def check_watch_pattern(pattern: str) -> str:
    """A watch pattern is a full ref under refs/heads/ or refs/notes/, `*` allowed."""
    if not pattern.startswith((BRANCH_PREFIX, "refs/notes/")) or "**" in pattern:
        raise ValueError(f"invalid watch pattern {pattern!r}: use a full ref, '*' per component")
    if any(c in pattern for c in " ~^:?[\\") or ".." in pattern:
        raise ValueError(f"invalid watch pattern {pattern!r}")
    return pattern


# --- identities ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identity:
    """Author or committer of a commit; `when` None means the time of writing."""

    name: str
    email: str
    when: datetime | None = None

    def __post_init__(self) -> None:
        for part in (self.name, self.email):
            if not part or any(c in part for c in "<>\n\0"):
                raise ValueError(f"invalid identity part {part!r}")
        if self.when is not None and self.when.tzinfo is None:
            raise ValueError("Identity.when must be timezone-aware")


# --- object ids ----------------------------------------------------------------------

_SHA_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def check_sha(sha: str) -> str:
    """Return `sha` if it is a full lowercase object id, else raise ValueError."""
    if not _SHA_RE.match(sha):
        raise ValueError(f"not a full object id: {sha!r}")
    return sha


# --- notes -----------------------------------------------------------------------------

NOTE_SCHEMA = "orchestrator.note/v1"
NOTE_REQUIRED = ("id", "at", "agent", "phase")

JSONValue = Any


def utc_timestamp(when: datetime | None = None) -> str:
    """RFC 3339 UTC timestamp with second precision, e.g. 2024-05-01T12:00:00Z."""
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _canonical(value: JSONValue) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, eq=False, slots=True)
class NoteEntry:
    """One thing an agent did with a commit; notes only ever gain entries.

    `id` names the event (a retry that writes the same event again is the same
    entry), `at` is an RFC 3339 UTC time, `phase` a word like `applied`; any
    other JSON fields ride along in `fields` and are kept verbatim.
    """

    id: str
    at: str
    agent: str
    phase: str
    fields: Mapping[str, JSONValue] = field(default_factory=dict)

    def to_json(self) -> dict[str, JSONValue]:
        """The entry as one JSON object (extra fields beside the required ones)."""
        out: dict[str, JSONValue] = dict(self.fields)
        out.update(id=self.id, at=self.at, agent=self.agent, phase=self.phase)
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, JSONValue]) -> NoteEntry:
        """Entry from a JSON object; ValueError if a required key is missing or not text."""
        missing = [k for k in NOTE_REQUIRED if not isinstance(obj.get(k), str)]
        if missing:
            raise ValueError(f"note entry lacks {', '.join(missing)}")
        rest = {k: v for k, v in obj.items() if k not in NOTE_REQUIRED}
        return cls(id=obj["id"], at=obj["at"], agent=obj["agent"], phase=obj["phase"], fields=rest)

    def canonical(self) -> str:
        """Deterministic JSON text, the entry's identity for merging."""
        return _canonical(self.to_json())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoteEntry) and self.canonical() == other.canonical()

    def __hash__(self) -> int:
        return hash(self.canonical())


def _sort_key(entry: NoteEntry) -> tuple[str, str, str]:
    return (entry.at, entry.id, entry.canonical())


@dataclass(frozen=True, slots=True)
class NoteDocument:
    """All entries one environment recorded on one commit, in a fixed order."""

    entries: tuple[NoteEntry, ...] = ()

    @classmethod
    def of(cls, entries: Iterable[NoteEntry]) -> NoteDocument:
        """Deduplicated (equal JSON) and sorted by (at, id, JSON): merge-order independent."""
        return cls(tuple(sorted(set(entries), key=_sort_key)))

    def latest(self) -> NoteEntry | None:
        """The most recent entry: what the environment last did with the commit."""
        return self.entries[-1] if self.entries else None

    def render(self) -> str:
        """Canonical note text: equal documents give byte-equal notes."""
        doc = {"schema": NOTE_SCHEMA, "entries": [e.to_json() for e in self.entries]}
        return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _foreign_entry(text: str) -> NoteEntry:
    digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
    return NoteEntry(
        id=f"foreign-{digest[:32]}", at="", agent="", phase="foreign", fields={"raw": text}
    )


def parse_note(text: str) -> NoteDocument:
    """Read a note; text that is not a v1 document is kept as one `foreign` entry.

    Never fails: a note someone wrote by hand must survive our next merge.
    """
    try:
        doc = json.loads(text)
    except ValueError:
        return NoteDocument.of([_foreign_entry(text)])
    if not isinstance(doc, dict) or doc.get("schema") != NOTE_SCHEMA:
        return NoteDocument.of([_foreign_entry(text)])
    entries: list[NoteEntry] = []
    raw_entries = doc.get("entries")
    for raw in raw_entries if isinstance(raw_entries, list) else [raw_entries]:
        try:
            if not isinstance(raw, dict):
                raise ValueError("not an object")
            entries.append(NoteEntry.from_json(raw))
        except ValueError:
            entries.append(_foreign_entry(_canonical(raw)))
    return NoteDocument.of(entries)


def merge_notes(*docs: NoteDocument) -> NoteDocument:
    """Union of the entries of several versions of one note: nothing is ever dropped."""
    return NoteDocument.of(e for doc in docs for e in doc.entries)
