"""Field paths into a live object, for `matchFields.key` and `messagePath`.

Cartographer evaluates these as Kubernetes JSONPath, wrapped for the author:
`status.phase`, `.status.phase` and `{.status.phase}` mean the same, and a
path must lead to exactly one value. We implement the subset its documentation
and examples use, and reject the rest when the policy is loaded:

    status.phase                          dotted field names
    .status.phase / {.status.phase}       optional leading dot and braces
    status.containerStatuses[0].ready     list index ([-1] is the last item)
    metadata.labels['app.kubernetes.io/name']   bracketed name ('...' or "...")
    metadata.labels.app\\.kubernetes\\.io/name  backslash escapes a dot
    status.conditions[?(@.type=="Ready")].status   filter: == or !=, on a
                                          sub-path of each list item, against a
                                          quoted string, a number, true/false

Not supported: wildcards (`[*]`, `..`), slices, unions, and filters with other
operators. A filter that selects no item means "no value"; one that selects
more than one is reported as ambiguous, as Cartographer reports "too many
results". An explicit `null` counts as no value.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["FieldPath", "Lookup", "scalar_text"]


@dataclass(frozen=True, slots=True)
class _Key:
    name: str


@dataclass(frozen=True, slots=True)
class _Index:
    index: int


@dataclass(frozen=True, slots=True)
class _Filter:
    path: tuple[_Key | _Index, ...]
    negate: bool
    literal: str


_Step = _Key | _Index | _Filter


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a path found: a value, or why there is none."""

    found: bool
    value: Any = None
    problem: str = ""
    ambiguous: bool = False


def scalar_text(value: Any) -> str | None:
    """The text a scalar compares as (`true`, `3`, `Running`); None for anything else.

    Policy values are strings, and a live field may be a number or a bool;
    comparing text forms lets `values: ["3"]` match `replicas: 3`.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return None


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A parsed path; `parse` raises ValueError with the position of a syntax error."""

    text: str
    steps: tuple[_Step, ...]

    @classmethod
    def parse(cls, text: str) -> FieldPath:
        return _parse_cached(text)

    def lookup(self, obj: Any) -> Lookup:
        """Follow the path through mappings and lists; never raises."""
        node = obj
        for step in self.steps:
            if isinstance(step, _Filter):
                if not _is_list(node):
                    return Lookup(False, problem=f"{self.text}: not a list where a filter applies")
                matches = [item for item in node if _filter_holds(step, item)]
                if not matches:
                    return Lookup(False, problem=f"{self.text}: no item matches the filter")
                if len(matches) > 1:
                    problem = f"{self.text}: ambiguous, {len(matches)} items match"
                    return Lookup(False, problem=problem, ambiguous=True)
                node = matches[0]
                continue
            node = _step(node, step)
            if node is None:
                return Lookup(False, problem=f"{self.text}: no value")
        return Lookup(True, node)

    def __str__(self) -> str:
        return self.text


def _is_list(node: Any) -> bool:
    return isinstance(node, Sequence) and not isinstance(node, str | bytes)


def _step(node: Any, step: _Key | _Index) -> Any:
    if isinstance(step, _Key):
        return node.get(step.name) if isinstance(node, Mapping) else None
    if _is_list(node) and -len(node) <= step.index < len(node):
        return node[step.index]
    return None


def _filter_holds(flt: _Filter, item: Any) -> bool:
    node = item
    for step in flt.path:
        node = _step(node, step)
        if node is None:
            return False
    equal = scalar_text(node) == flt.literal
    return not equal if flt.negate else equal


@functools.lru_cache(maxsize=512)
def _parse_cached(text: str) -> FieldPath:
    return FieldPath(text=text, steps=_Parser(text).path())


class _Parser:
    """A small recursive-descent parser; errors quote the text where parsing stopped."""

    def __init__(self, text: str) -> None:
        self.source = text
        self.text = text
        self.pos = 0

    def fail(self, why: str) -> ValueError:
        rest = self.text[self.pos :]
        near = f" (near {rest!r})" if rest else " (at the end)"
        return ValueError(f"invalid field path {self.source!r}: {why}{near}")

    def peek(self, ahead: int = 0) -> str:
        i = self.pos + ahead
        return self.text[i] if i < len(self.text) else ""

    def path(self) -> tuple[_Step, ...]:
        body = self.text.strip()
        if body.startswith("{"):
            if not body.endswith("}"):
                raise self.fail("'{' without closing '}'")
            body = body[1:-1]
        self.text, self.pos = body, 0
        if self.peek() == ".":
            self.pos += 1
        if not self.text[self.pos :]:
            raise self.fail("empty path")
        steps: list[_Step] = []
        steps.append(self.bracket() if self.peek() == "[" else _Key(self.name()))
        while self.pos < len(self.text):
            char = self.peek()
            if char == ".":
                self.pos += 1
                if self.peek() == ".":
                    raise self.fail("recursive descent '..' is not supported")
                steps.append(_Key(self.name()))
            elif char == "[":
                steps.append(self.bracket())
            else:
                raise self.fail(f"unexpected {char!r}")
        return tuple(steps)

    def name(self, *, in_filter: bool = False) -> str:
        """A bare field name; inside a filter it also ends at an operator or ')'."""
        stop = ".[]=!<>) " if in_filter else ".[]"
        out: list[str] = []
        while self.pos < len(self.text) and self.peek() not in stop:
            char = self.peek()
            if char == "\\":
                self.pos += 1
                if self.pos >= len(self.text):
                    raise self.fail("dangling backslash")
                char = self.peek()
            elif char in "*@$()=!'\" ":
                raise self.fail(f"{char!r} is not allowed in a field name (quote it in [...])")
            out.append(char)
            self.pos += 1
        if not out:
            raise self.fail("expected a field name")
        return "".join(out)

    def bracket(self) -> _Step:
        self.pos += 1  # '['
        char = self.peek()
        step: _Step
        if not char:
            raise self.fail("unclosed '['")
        if char in "'\"":
            step = _Key(self.quoted())
        elif char == "?":
            step = self.filter()
        elif char == "-" or char.isdigit():
            step = _Index(self.integer())
        elif char == "*":
            raise self.fail("wildcards are not supported")
        else:
            raise self.fail("expected an index, a quoted name or a filter in [...]")
        if self.peek() != "]":
            raise self.fail("expected ']'")
        self.pos += 1
        return step

    def quoted(self) -> str:
        quote = self.peek()
        self.pos += 1
        out: list[str] = []
        while self.peek() != quote:
            if self.pos >= len(self.text):
                raise self.fail("unterminated quoted name")
            if self.peek() == "\\":
                self.pos += 1
            out.append(self.peek())
            self.pos += 1
        self.pos += 1
        return "".join(out)

    def integer(self) -> int:
        start = self.pos
        if self.peek() == "-":
            self.pos += 1
        while self.peek().isdigit():
            self.pos += 1
        digits = self.text[start : self.pos]
        if digits in ("", "-"):
            raise self.fail("expected an integer")
        if self.peek() == ":":
            raise self.fail("slices are not supported")
        return int(digits)

    def filter(self) -> _Filter:
        if self.text[self.pos : self.pos + 3] != "?(@":
            raise self.fail("a filter reads [?(@.field==value)]")
        self.pos += 3
        sub: list[_Key | _Index] = []
        while self.peek() in (".", "["):
            if self.peek() == ".":
                self.pos += 1
                sub.append(_Key(self.name(in_filter=True)))
            else:
                step = self.bracket()
                if isinstance(step, _Filter):
                    raise self.fail("nested filters are not supported")
                sub.append(step)
        if not sub:
            raise self.fail("a filter needs a field of the item, like @.type")
        self.spaces()
        operator = self.text[self.pos : self.pos + 2]
        if operator not in ("==", "!="):
            raise self.fail("a filter compares with == or !=")
        self.pos += 2
        self.spaces()
        literal = self.literal()
        self.spaces()
        if self.peek() != ")":
            raise self.fail("expected ')' to close the filter")
        self.pos += 1
        return _Filter(path=tuple(sub), negate=operator == "!=", literal=literal)

    def literal(self) -> str:
        if self.peek() and self.peek() in "'\"":
            return self.quoted()
        start = self.pos
        while self.peek() and self.peek() not in ") ":
            self.pos += 1
        word = self.text[start : self.pos]
        if word in ("true", "false"):
            return word
        try:
            float(word)
        except ValueError:
            raise self.fail("expected a quoted string, a number or true/false") from None
        return word

    def spaces(self) -> None:
        while self.peek() == " ":
            self.pos += 1
