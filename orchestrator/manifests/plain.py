"""A fresh JSON-shaped copy of parsed data, or an error that says where it is not.

Both parsers (YAML and JSON) end here, so what leaves the parse step is always
mappings with string keys, lists, strings, integers, finite floats, booleans and
null, as a tree: an alias's value is copied at each place it is used, and later
stages may walk or change the result freely.

Mapping keys and short strings are interned: thousands of objects repeat the
same keys (`apiVersion`, `metadata`, `name`, ...) and many of the same values
(`v1`, a kind, a namespace, a label), and one shared copy of each is a large
part of what a delivery's objects hold in memory. `marshal` keeps the interning
through the parse cache.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from orchestrator.errors import ManifestParseError
from orchestrator.manifests.fields import field_path
from orchestrator.manifests.limits import Budget

# Names, kinds, label values, image references; longer strings are rarely repeated.
_INTERNED_LENGTH = 100


class _NotPlain(Exception):
    """Raised deep in `to_plain`; each level adds its key on the way out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.trail: list[str | int] = []


def to_plain(value: Any, *, budget: Budget, count: bool, where: str) -> Any:
    """A fresh JSON-shaped copy of `value`, or a ManifestParseError saying where it is not."""
    try:
        return _copy(value, 1, budget, count)
    except _NotPlain as exc:
        at = field_path(reversed(exc.trail))
        prefix = f"{where}: " if where else ""
        raise ManifestParseError(f"{prefix}{at}: {exc.message}", path=budget.path) from None


def _copy(value: Any, depth: int, budget: Budget, count: bool) -> Any:
    if depth > budget.limits.max_depth:
        budget.fail(f"nests deeper than {budget.limits.max_depth} levels")
    if count:
        budget.spend(nodes=1, chars=len(value) if isinstance(value, str) else 0)
    if isinstance(value, dict):
        return _copy_mapping(value, depth, budget, count)
    if isinstance(value, list):
        return _copy_list(value, depth, budget, count)
    if isinstance(value, str):
        return sys.intern(value) if len(value) <= _INTERNED_LENGTH else value
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotPlain(f"{value} is not a finite number")
        return value
    raise _NotPlain(f"a {type(value).__name__} value has no JSON form (drop the explicit tag)")


def _copy_mapping(value: dict[Any, Any], depth: int, budget: Budget, count: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise _NotPlain(f"mapping key {key!r} is not a string; quote it")
        if count:
            budget.spend(nodes=1, chars=len(key))
        try:
            out[sys.intern(key)] = _copy(item, depth + 1, budget, count)
        except _NotPlain as exc:
            exc.trail.append(key)
            raise
    return out


def _copy_list(value: list[Any], depth: int, budget: Budget, count: bool) -> list[Any]:
    items: list[Any] = []
    for index, item in enumerate(value):
        try:
            items.append(_copy(item, depth + 1, budget, count))
        except _NotPlain as exc:
            exc.trail.append(index)
            raise
    return items
