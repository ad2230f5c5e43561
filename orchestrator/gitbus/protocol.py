"""The message format on the Git bus, as plain data (no pygit2 here).

Branches, notes refs, commit trailers and note documents are the only things
agents say to each other, so everything about their shape lives in this one
module and `docs/protocol.md` describes it for other tools. The trailer parser
follows `git interpret-trailers --parse` rule for rule, because humans and
other tools read the same commits with git itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
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


# --- trailers ----------------------------------------------------------------------

DELIVERY = "Delivery"
SOURCE_COMMIT = "Source-Commit"
PROMOTED_FROM = "Promoted-From"
VERIFIED_BY = "Verified-By"
HEALTH = "Health"
ROLLBACK_TO = "Rollback-To"  # `<env>@<sha>`: an operator's rollback commit restores that revision
PROTOCOL_KEYS = (DELIVERY, SOURCE_COMMIT, PROMOTED_FROM, VERIFIED_BY, HEALTH)

Trailer = tuple[str, str]

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_SHA_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
# git's isspace(): only these four, not \v or \f.
_GIT_SPACE = " \t\n\r"
_COMMENT = "#"
_GIT_GENERATED_PREFIXES = ("Signed-off-by: ", "(cherry picked from commit ")
_SCISSORS = "# ------------------------ >8 ------------------------\n"


def check_sha(sha: str) -> str:
    """Return `sha` if it is a full lowercase object id, else raise ValueError."""
    if not _SHA_RE.match(sha):
        raise ValueError(f"not a full object id: {sha!r}")
    return sha


def format_promoted_from(env: str, sha: str) -> str:
    """Value of a Promoted-From trailer: `<env>@<sha>`."""
    return f"{check_env(env)}@{check_sha(sha)}"


def parse_promoted_from(value: str) -> tuple[str, str]:
    """(env, sha) from a Promoted-From value; ValueError if malformed."""
    env, sep, sha = value.partition("@")
    if not sep:
        raise ValueError(f"Promoted-From must be <env>@<sha>, got {value!r}")
    return check_env(env), check_sha(sha)


def _check_trailer(key: str, value: str) -> None:
    if not _KEY_RE.match(key):
        raise ValueError(f"invalid trailer key {key!r}: use [A-Za-z0-9-]")
    if not value or value != value.strip(_GIT_SPACE) or any(c in value for c in "\n\r\0"):
        raise ValueError(f"invalid value for trailer {key}: one non-empty trimmed line")


def _is_divider(line: str) -> bool:
    return line.startswith("---") and len(line) > 3 and line[3] in _GIT_SPACE


def format_message(subject: str, *, body: str = "", trailers: Sequence[Trailer] = ()) -> str:
    """A commit message whose trailers `git interpret-trailers --parse` reads back exactly.

    Refuses input that would make git see a different trailer block: a
    multi-line subject, a body line git takes for a patch divider (`--- `) or
    the scissors line, keys or values that do not survive git's trimming, and
    a body whose last paragraph git would take for trailers.
    """
    if not subject.strip(_GIT_SPACE) or any(c in subject for c in "\n\r\0"):
        raise ValueError("subject must be one non-empty line")
    if subject[0] in _GIT_SPACE or subject.startswith(_COMMENT):
        raise ValueError("subject must not start with whitespace or '#'")
    if "\0" in body or "\r" in body:
        raise ValueError("body must not contain NUL or CR")
    body = body.strip("\n")
    for line in body.split("\n"):
        if _is_divider(line + "\n") or line + "\n" == _SCISSORS:
            raise ValueError(f"body line {line!r} would end the message for git")
    for key, value in trailers:
        _check_trailer(key, value)
    parts = [subject]
    if body.strip(_GIT_SPACE):
        parts.append(body)
    if trailers:
        parts.append("\n".join(f"{key}: {value}" for key, value in trailers))
    message = "\n\n".join(parts) + "\n"
    if parse_trailers(message) != list(trailers):
        # e.g. no trailers given, but the body's last paragraph reads as some
        raise ValueError("git would read different trailers from this message")
    return message


def _lines(text: str) -> list[str]:
    """Split keeping each line's newline, as git's line walkers see them."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _is_blank(line: str) -> bool:
    return all(c in _GIT_SPACE for c in line)


def _find_separator(line: str) -> int:
    """Position of ':' after a `<token><optional blanks>`, or -1 (git's find_separator)."""
    whitespace_found = False
    for i, c in enumerate(line):
        if c == ":":
            return i
        if not whitespace_found and ((c.isascii() and c.isalnum()) or c == "-"):
            continue
        if i != 0 and c in " \t":
            whitespace_found = True
            continue
        break
    return -1


def _ignored_tail(lines: list[str]) -> int:
    """Number of trailing lines git ignores: comments, blanks, old Conflicts: blocks.

    Mirrors git's ignore_non_trailer(), including its use of 0 for "no run yet".
    """
    cutoff = len(lines)
    for i, line in enumerate(lines):
        if line == _SCISSORS:
            cutoff = i
            break
    boc = 0
    in_conflicts = False
    for i in range(cutoff):
        line = lines[i]
        if line.startswith(_COMMENT) or line == "\n":
            if not boc:
                boc = i
        elif line == "Conflicts:\n":
            in_conflicts = True
            if not boc:
                boc = i
        elif in_conflicts and line.startswith("\t"):
            pass
        elif boc:
            boc = 0
            in_conflicts = False
    return len(lines) - (boc if boc else cutoff)


def _line_kind(line: str) -> str:
    """How git's trailer block search sees one line."""
    if line.startswith(_COMMENT):
        return "comment"
    if _is_blank(line):
        return "blank"
    if line.startswith(_GIT_GENERATED_PREFIXES):
        return "generated"
    if _find_separator(line) >= 1 and line[0] not in _GIT_SPACE:
        return "trailer"
    if line[0] in _GIT_SPACE:
        return "continuation"
    return "text"


def _trailer_block_start(lines: list[str]) -> int:
    """Index of the first trailer line, or len(lines) (git's find_trailer_block_start).

    Walking up from the end, the last paragraph is the trailer block if all
    its lines are trailers, or if it has a git-generated one (Signed-off-by)
    and at least a quarter of its lines are trailers. The title never is.
    """
    end_of_title = len(lines)
    for i, line in enumerate(lines):
        if not line.startswith(_COMMENT) and _is_blank(line):
            end_of_title = i
            break
    only_spaces = True
    recognized_prefix = False
    trailers = others = continuations = 0
    for i in range(len(lines) - 1, end_of_title - 1, -1):
        kind = _line_kind(lines[i])
        if kind == "comment":
            others += continuations
            continuations = 0
        elif kind == "blank":
            if only_spaces:
                continue
            others += continuations
            if (recognized_prefix and trailers * 3 >= others) or (trailers and not others):
                return i + 1
            return len(lines)
        else:
            only_spaces = False
            if kind in ("generated", "trailer"):
                trailers += 1
                continuations = 0
                recognized_prefix = recognized_prefix or kind == "generated"
            elif kind == "continuation":
                continuations += 1
            else:
                others += 1 + continuations
                continuations = 0
    return len(lines)


def _unfold(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        c = value[i]
        i += 1
        if c == "\n":
            while i < len(value) and value[i] in _GIT_SPACE:
                i += 1
            out.append(" ")
        else:
            out.append(c)
    return "".join(out).strip(_GIT_SPACE)


def parse_trailers(message: str) -> list[Trailer]:
    """Trailers of a commit message, exactly as `git interpret-trailers --parse` lists them."""
    lines = _lines(message)
    for i, line in enumerate(lines):
        if _is_divider(line):
            lines = lines[:i]
            break
    lines = lines[: len(lines) - _ignored_tail(lines)]
    block = lines[_trailer_block_start(lines) :]
    joined: list[str] = []
    last_is_trailer = False
    for line in block:
        if last_is_trailer and line[0] in _GIT_SPACE:
            joined[-1] += line
            continue
        joined.append(line)
        last_is_trailer = _find_separator(line) >= 1
    result: list[Trailer] = []
    for item in joined:
        if item.startswith(_COMMENT):
            continue
        sep = _find_separator(item)
        if sep >= 1:
            key = item[:sep].strip(_GIT_SPACE)
            result.append((key, _unfold(item[sep + 1 :].strip(_GIT_SPACE))))
    return result


@dataclass(frozen=True, slots=True)
class DeliveryTrailers:
    """The protocol's own trailers on a delivery or promotion commit."""

    delivery: str | None = None
    source_commit: str | None = None
    promoted_from: tuple[str, str] | None = None
    verified_by: str | None = None
    health: str | None = None

    def pairs(self) -> list[Trailer]:
        """Trailer lines in the protocol's fixed order, absent ones left out."""
        out: list[Trailer] = []
        if self.delivery is not None:
            out.append((DELIVERY, self.delivery))
        if self.source_commit is not None:
            out.append((SOURCE_COMMIT, check_sha(self.source_commit)))
        if self.promoted_from is not None:
            out.append((PROMOTED_FROM, format_promoted_from(*self.promoted_from)))
        if self.verified_by is not None:
            out.append((VERIFIED_BY, self.verified_by))
        if self.health is not None:
            out.append((HEALTH, self.health))
        return out

    @classmethod
    def from_message(cls, message: str) -> DeliveryTrailers:
        """Read the protocol trailers of a message; the last occurrence of a key wins.

        Keys compare case-insensitively, as git's trailer configuration does.
        Malformed Source-Commit or Promoted-From values raise ValueError.
        """
        found: dict[str, str] = {}
        canonical = {key.lower(): key for key in PROTOCOL_KEYS}
        for key, value in parse_trailers(message):
            if key.lower() in canonical:
                found[canonical[key.lower()]] = value
        source = found.get(SOURCE_COMMIT)
        promoted = found.get(PROMOTED_FROM)
        return cls(
            delivery=found.get(DELIVERY),
            source_commit=check_sha(source) if source is not None else None,
            promoted_from=parse_promoted_from(promoted) if promoted is not None else None,
            verified_by=found.get(VERIFIED_BY),
            health=found.get(HEALTH),
        )


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
