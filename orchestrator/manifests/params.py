"""`$(params.<name>)$` placeholders, filled from the environment's parameters.

The syntax is Cartographer's "simple template": `$(params.image)$`, and
`$(params.db.host)$` to reach into a parameter whose value is a mapping.
Names and keys are letters, digits, `_` and `-`.

Where the values come from, later winning name by name (shallow):
1. `<root>/.orchestrator/params/<environment>.yaml`, one YAML mapping of
   names to values, in the commit being applied. A promotion carries the same
   tree from environment to environment, so every environment's file rides
   along and each agent picks its own; the directory is hidden, so it is
   never loaded as a manifest. A missing file means no parameters from Git.
2. The agent settings. They override the file because they hold what only the
   cluster's operator knows (cluster domain, registry mirror); the repository
   should not be able to change those facts.

Rules:
- Filling works on parsed data, in string values only, never on YAML text, so
  a value cannot inject structure: `a\\nkind: Secret` stays a string.
- A string that is exactly one placeholder takes the parameter's own type, so
  `replicas: $(params.replicas)$` can be a number and a mapping can fill a
  whole field (as in Cartographer). A placeholder inside a longer string takes
  the value's text: strings, numbers and booleans (`true`/`false`) only.
- Filled values are not scanned again: parameters cannot refer to each other,
  so nothing can loop or grow by repetition.
- Placeholders in mapping keys are an error: keys are structure.
- Other `$(...)` forms pass through untouched, notably Tekton's `$(params.x)`
  (no closing `$`) inside Tasks, and Cartographer's `$(workload.x)$`.
- Every missing parameter of a file is reported (MissingParameter, with file,
  object, field and placeholder), not just the first.
- `substitute(..., context=)` adds top-level names beside `params`, as
  `$(name)$` or `$(name.key)$` (verification run templates use `$(revision)$`
  and `$(selected.status.x)$`); the same rules apply to them. Without a
  context only `$(params.x)$` is recognised.
- What filling adds is spent from the file's `Budget`, so parameters cannot
  make a file larger than the limits allow a file to be.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import InvalidObject, ManifestError, ManifestParseError, MissingParameter
from orchestrator.manifests.fields import field_path
from orchestrator.manifests.limits import Budget, Limits
from orchestrator.manifests.parse import parse_file, to_plain
from orchestrator.manifests.selection import normalize_root
from orchestrator.objectref import ObjectRef

PARAMS_DIR = ".orchestrator/params"
SETTINGS_SOURCE = "agent settings"

_PLACEHOLDER = re.compile(r"\$\((params\.[^)]*)\)\$")
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_ENVIRONMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True, slots=True)
class Parameters:
    """The values of one environment, and where they were looked for (for error messages)."""

    values: Mapping[str, Any] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def describe_sources(self) -> str:
        return " and ".join(self.sources) if self.sources else "nowhere (no parameters given)"


def params_file(*, root: str, environment: str) -> str:
    """Repo-relative path of `environment`'s parameter file for the delivery at `root`."""
    if not _ENVIRONMENT.fullmatch(environment) or ".." in environment:
        raise ValueError(f"environment name {environment!r} cannot name a file")
    base = normalize_root(root)
    return f"{base}/{PARAMS_DIR}/{environment}.yaml" if base else f"{PARAMS_DIR}/{environment}.yaml"


def load_params(
    files: Mapping[str, bytes],
    *,
    root: str,
    environment: str | None,
    overrides: Mapping[str, Any] | None,
    limits: Limits,
) -> Parameters:
    """The environment's file merged with the settings' parameters (settings win)."""
    values: dict[str, Any] = {}
    sources: list[str] = []
    if environment is not None:
        path = params_file(root=root, environment=environment)
        data = files.get(path)
        if data is None:
            sources.append(f"{path} (absent)")
        else:
            sources.append(path)
            values.update(_read_file(data, path=path, limits=limits))
    if overrides:
        sources.append(SETTINGS_SOURCE)
        budget = Budget(limits, path=SETTINGS_SOURCE)
        plain = to_plain(dict(overrides), budget=budget, count=True, where="")
        values.update(_checked_names(plain, path=SETTINGS_SOURCE))
    return Parameters(values=values, sources=tuple(sources))


def _read_file(data: bytes, *, path: str, limits: Limits) -> dict[str, Any]:
    documents = [
        d for d in parse_file(data, path=path, budget=Budget(limits, path=path)) if d is not None
    ]
    if len(documents) > 1:
        raise ManifestParseError("a parameter file holds one YAML document", path=path)
    if not documents:
        return {}
    if not isinstance(documents[0], dict):
        raise ManifestParseError("a parameter file is a mapping of names to values", path=path)
    return _checked_names(documents[0], path=path)


def _checked_names(values: dict[str, Any], *, path: str) -> dict[str, Any]:
    bad = sorted(name for name in values if not _SEGMENT.fullmatch(name))
    if bad:
        raise ManifestParseError(
            f"parameter names are letters, digits, '_' and '-': not {', '.join(map(repr, bad))}",
            path=path,
        )
    return values


def substitute(
    value: Any,
    *,
    params: Parameters,
    budget: Budget,
    ref: ObjectRef | None,
    context: Mapping[str, Any] | None = None,
) -> tuple[Any, list[ManifestError]]:
    """`value` with its placeholders filled, and every problem found (if any, drop the value).

    `context` maps extra top-level names (besides `params`) to their values.
    """
    filler = _Filler(params=params, budget=budget, ref=ref, context=context or {})
    return filler.walk(value), filler.problems


def _pattern(names: Iterable[str]) -> re.Pattern[str]:
    """`$(params.<key>...)$`, plus `$(<name>)$` and `$(<name>.<key>...)$` for each extra name."""
    extra = sorted(names)
    if not extra:
        return _PLACEHOLDER
    alternatives = "|".join(re.escape(name) for name in extra)
    return re.compile(rf"\$\((params\.[^)]*|(?:{alternatives})(?:\.[^)]*)?)\)\$")


class _Unfillable(Exception):
    def __init__(self, error: type[ManifestError], message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


class _Filler:
    def __init__(
        self,
        *,
        params: Parameters,
        budget: Budget,
        ref: ObjectRef | None,
        context: Mapping[str, Any],
    ) -> None:
        self.params = params
        self.budget = budget
        self.ref = ref
        self.context = context
        self.pattern = _pattern(context)
        self.marker = "$(" if context else "$(params."
        self.problems: list[ManifestError] = []
        self.trail: list[str | int] = []

    def walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.fill(value)
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                self.trail.append(key)
                if self.pattern.search(key):
                    self.report(
                        InvalidObject, "placeholders are filled in values only, not in keys"
                    )
                out[key] = self.walk(item)
                self.trail.pop()
            return out
        if isinstance(value, list):
            items: list[Any] = []
            for index, item in enumerate(value):
                self.trail.append(index)
                items.append(self.walk(item))
                self.trail.pop()
            return items
        return value

    def fill(self, text: str) -> Any:
        if self.marker not in text:
            return text
        matches = list(self.pattern.finditer(text))
        if not matches:
            return text
        try:
            if len(matches) == 1 and matches[0].span() == (0, len(text)):
                found = self.lookup(matches[0])
                nodes, chars = _size(found)
                self.budget.spend(nodes=nodes - 1, chars=max(0, chars - len(text)))
                return copy.deepcopy(found)
            out: list[str] = []
            end = 0
            for match in matches:
                out.append(text[end : match.start()])
                out.append(_render(self.lookup(match), match.group(0)))
                end = match.end()
            out.append(text[end:])
            filled = "".join(out)
            self.budget.spend(chars=max(0, len(filled) - len(text)))
            return filled
        except _Unfillable as exc:
            self.report(exc.error, exc.message)
            return text

    def lookup(self, match: re.Match[str]) -> Any:
        root, _, expression = match.group(1).partition(".")
        segments = expression.split(".") if expression else []
        if (root == "params" and not segments) or not all(_SEGMENT.fullmatch(s) for s in segments):
            raise _Unfillable(InvalidObject, f"malformed placeholder {match.group(0)}")
        if root == "params":
            current: Any = self.params.values
            sources = f" (parameters come from {self.params.describe_sources()})"
        else:
            current, sources = self.context[root], ""
        for depth, segment in enumerate(segments):
            if not isinstance(current, dict) or segment not in current:
                if root == "params" and depth == 0:
                    message = f"no value for {match.group(0)}"
                else:
                    parent = ".".join([root, *segments[:depth]])
                    message = f"no value for {match.group(0)}: {parent} has no key {segment!r}"
                raise _Unfillable(MissingParameter, message + sources)
            current = current[segment]
        return current

    def report(self, error: type[ManifestError], message: str) -> None:
        self.problems.append(
            error(f"{field_path(self.trail)}: {message}", path=self.budget.path, ref=self.ref)
        )


def _render(value: Any, placeholder: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    kind = "null" if value is None else "a list" if isinstance(value, list) else "a mapping"
    raise _Unfillable(
        InvalidObject,
        f"{placeholder} is {kind}; it can fill a whole value, not part of a string",
    )


def _size(value: Any) -> tuple[int, int]:
    """(nodes, scalar characters) of a plain value, counted as the parser counts them."""
    if isinstance(value, str):
        return 1, len(value)
    if isinstance(value, dict):
        nodes, chars = 1, 0
        for key, item in value.items():
            n, c = _size(item)
            nodes, chars = nodes + 1 + n, chars + len(key) + c
        return nodes, chars
    if isinstance(value, list):
        nodes, chars = 1, 0
        for item in value:
            n, c = _size(item)
            nodes, chars = nodes + n, chars + c
        return nodes, chars
    return 1, 0
