"""Reading CEL source text before the library sees it: bounds and optional field chains.

Two things the CEL library cannot do for us, done on the text:

- `comprehension_depth`: how deeply the macros that loop (`all`, `exists`,
  `exists_one`, `map`, `filter`) nest. The library has no cost limit and
  cannot be interrupted, so the evaluator bounds the work an expression may
  do from this depth and the longest list in the object.
- `desugar_optionals`: Flux evaluates with cel-go's optional types, and its
  users write `status.?conditions.orValue([])`. The Python libraries do not
  parse `.?`; the one form that matters for health checks, a field chain
  ending in `.orValue(default)`, is rewritten to the equivalent `has()` test:
  `(has(status.conditions) ? status.conditions : [])`. Any other use of `.?`
  is refused when the policy loads, with a message that says so.

Both skip string literals (single, double and triple quoted, raw or not), so
text inside quotes never counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["comprehension_depth", "desugar_optionals"]

_MACRO = re.compile(r"\.\s*(all|exists_one|exists|map|filter)\s*\(")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CHAIN_STEP = re.compile(r"\.(\?)?([A-Za-z_][A-Za-z0-9_]*)")
_OR_VALUE = re.compile(r"\.orValue\s*\(")


def _string_end(text: str, start: int) -> int:
    """The index just past the string literal whose opening quote is at `start`."""
    quote = text[start]
    raw = start > 0 and text[start - 1] in "rR"
    delimiter = quote * 3 if text.startswith(quote * 3, start) else quote
    i = start + len(delimiter)
    while i < len(text):
        if text[i] == "\\" and not raw:
            i += 2
            continue
        if text.startswith(delimiter, i):
            return i + len(delimiter)
        i += 1
    return len(text)


def _code_spans(text: str) -> list[tuple[int, int, bool]]:
    """The text cut into (start, end, is_string) spans."""
    spans: list[tuple[int, int, bool]] = []
    i = start = 0
    while i < len(text):
        if text[i] in "'\"":
            if start < i:
                spans.append((start, i, False))
            end = _string_end(text, i)
            spans.append((i, end, True))
            i = start = end
        else:
            i += 1
    if start < len(text):
        spans.append((start, len(text), False))
    return spans


def comprehension_depth(text: str) -> int:
    """How many looping macros are open at once, at most, anywhere in the expression."""
    stack: list[bool] = []
    deepest = 0
    for start, end, is_string in _code_spans(text):
        if is_string:
            continue
        i = start
        while i < end:
            if (macro := _MACRO.match(text, i, end)) is not None:
                stack.append(True)
                deepest = max(deepest, stack.count(True))
                i = macro.end()
                continue
            if text[i] == "(":
                stack.append(False)
            elif text[i] == ")" and stack:
                stack.pop()
            i += 1
    return deepest


@dataclass(frozen=True, slots=True)
class _Chain:
    """`root.a.?b.c` starting at `start`: the plain path and the guards it needs."""

    start: int
    end: int
    path: str
    guards: tuple[str, ...]


def desugar_optionals(text: str) -> str:
    """`a.?b.?c.orValue(d)` becomes `(has(a.b) && has(a.b.c) ? a.b.c : (d))`.

    Raises ValueError for any other use of `.?`.
    """
    if ".?" not in text:
        return text
    out: list[str] = []
    pos = 0
    while (found := _next_optional(text, pos)) is not None:
        chain, default_start, default_end = found
        out.append(text[pos : chain.start])
        default = desugar_optionals(text[default_start:default_end])
        test = " && ".join(f"has({guard})" for guard in chain.guards)
        out.append(f"({test} ? {chain.path} : ({default}))")
        pos = default_end + 1
    out.append(text[pos:])
    result = "".join(out)
    if any(".?" in result[s:e] for s, e, is_string in _code_spans(result) if not is_string):
        raise ValueError(
            "optional field syntax '.?' is supported only as a field chain ending in "
            ".orValue(default), e.g. status.?conditions.orValue([]); use has() otherwise"
        )
    return result


def _next_optional(text: str, pos: int) -> tuple[_Chain, int, int] | None:
    """The next `.?` chain from `pos` that ends in `.orValue(`, with its argument's span."""
    for start, end, is_string in _code_spans(text):
        if is_string or end <= pos:
            continue
        for ident in _IDENT.finditer(text, max(start, pos), end):
            if ident.start() > 0 and (text[ident.start() - 1] in ".?" or _is_word(text, ident)):
                continue
            chain = _chain_at(text, start=ident.start(), root_end=ident.end())
            if chain is None:
                continue
            call = _OR_VALUE.match(text, chain.end)
            if call is None:
                continue
            close = _closing_paren(text, call.end())
            if close is None:
                return None
            return chain, call.end(), close
    return None


def _is_word(text: str, ident: re.Match[str]) -> bool:
    return text[ident.start() - 1].isalnum() or text[ident.start() - 1] == "_"


def _chain_at(text: str, *, start: int, root_end: int) -> _Chain | None:
    """A dotted chain from an identifier, when it has at least one `.?` step."""
    path = text[start:root_end]
    guards: list[str] = []
    optional = False
    i = root_end
    while (step := _CHAIN_STEP.match(text, i)) is not None:
        if step.group(2) == "orValue" and step.group(1) is None:
            break
        path = f"{path}.{step.group(2)}"
        optional = optional or step.group(1) is not None
        if optional:
            guards.append(path)
        i = step.end()
    if not guards:
        return None
    return _Chain(start=start, end=i, path=path, guards=tuple(guards))


def _closing_paren(text: str, start: int) -> int | None:
    """The index of the `)` that closes a call whose arguments begin at `start`."""
    depth = 0
    for s, e, is_string in _code_spans(text):
        if is_string or e <= start:
            continue
        for i in range(max(s, start), e):
            if text[i] in "([{":
                depth += 1
            elif text[i] in ")]}":
                if depth == 0:
                    return i
                depth -= 1
    return None
