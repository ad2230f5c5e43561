"""Commit-message trailers: the protocol's words inside a commit message.

The parser follows `git interpret-trailers --parse` rule for rule, because
humans and other tools read the same commits with git itself; the formatter
refuses any message git would read back differently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.gitbus.protocol import check_env, check_sha

DELIVERY = "Delivery"
SOURCE_COMMIT = "Source-Commit"
PROMOTED_FROM = "Promoted-From"
VERIFIED_BY = "Verified-By"
HEALTH = "Health"
ROLLBACK_TO = "Rollback-To"  # `<env>@<sha>`: an operator's rollback commit restores that revision
PROTOCOL_KEYS = (DELIVERY, SOURCE_COMMIT, PROMOTED_FROM, VERIFIED_BY, HEALTH)

Trailer = tuple[str, str]

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
# git's isspace(): only these four, not \v or \f.
_GIT_SPACE = " \t\n\r"
_COMMENT = "#"
_GIT_GENERATED_PREFIXES = ("Signed-off-by: ", "(cherry picked from commit ")
_SCISSORS = "# ------------------------ >8 ------------------------\n"


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
