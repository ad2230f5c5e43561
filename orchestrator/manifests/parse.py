"""Safe YAML and JSON parsing under the limits, to plain JSON-shaped data.

What comes out is what Kubernetes objects are made of: mappings with string
keys, lists, strings, integers, finite floats, booleans and null, as a tree
(no object shared between two places, so later stages may walk or change it).

YAML is read by one of the loaders of `yaml_loaders` (libyaml where PyYAML
has it), which charge a `Budget` for every node, an alias for everything it
stands for each time it is used; parameter substitution goes on spending from
the same budget.

Differences from PyYAML's defaults, each to read files as Kubernetes does:
- timestamps stay strings (sigs.k8s.io/yaml does the same); `=` is a string;
- a key repeated in one mapping is an error (PyYAML silently keeps the last,
  and a second `image:` key is a classic mistake); merge keys (`<<`) still work;
- non-string keys, `!!binary`, `!!set`, infinite and NaN numbers are errors,
  since they have no JSON form.

JSON files are read with the `json` module (PyYAML rejects JSON indented with
tabs), with the same duplicate-key, depth, node and type rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NoReturn

import yaml

from orchestrator.errors import ManifestError, ManifestParseError
from orchestrator.manifests.limits import Budget
from orchestrator.manifests.parse_cache import ParseCache
from orchestrator.manifests.plain import to_plain
from orchestrator.manifests.yaml_loaders import YAML_LOADERS, YamlLoader

__all__ = ["YAML_LOADERS", "cache", "parse_file", "to_plain", "yaml_loader"]

# libyaml (PyYAML >= 6.0.3) refuses more than 1,000 nesting levels while scanning,
# before any node is charged. Its ceiling is far above ours (`DEPTH_CEILING`), so
# crossing it is crossing `max_depth`, and is reported as such.
_LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"

# The loader parse_file uses; tests switch it to cover every one.
yaml_loader: Callable[[str, Budget], YamlLoader] = next(iter(YAML_LOADERS.values()))

# Parsed files by content, shared by every load of this process.
cache = ParseCache()


def parse_file(data: bytes, *, path: str, budget: Budget) -> list[Any]:
    """The documents of one file (`None` for an empty YAML document), by extension.

    `.json` files are one JSON value; anything else is read as a YAML stream.
    A file parsed before (same bytes, format, limits and loader) comes from `cache`.
    """
    limits = budget.limits
    if len(data) > limits.max_file_bytes:
        budget.fail(f"is {len(data):,} bytes, over the limit of {limits.max_file_bytes:,}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestParseError(
            f"is not UTF-8 text (byte {exc.start}: {exc.reason})", path=path
        ) from None
    if path.endswith(".json"):
        return cache.parse(
            data, kind="json", budget=budget, parse=lambda: [_parse_json(text, budget=budget)]
        )
    loader = yaml_loader
    return cache.parse(
        data, kind=loader, budget=budget, parse=lambda: _parse_yaml(text, budget=budget)
    )


def _parse_yaml(text: str, *, budget: Budget) -> list[Any]:
    """The documents; a refused file is refused as the pure-Python loader words it.

    libyaml parses a whole document before any node is charged, and a charge
    found on the node graph knows the anchored node's line, not the alias's.
    So when the fast loader refuses a file, the counting composer reads it
    again from the same budget and raises its error: the limit met first in
    document order, at the line where it is met. Both refuse the same files
    (a property test holds them to it), and the composer stops at the first
    limit, so a refused file costs what it cost before the fast loader.
    """
    start = (budget.nodes, budget.chars, budget.aliases)
    try:
        return _load_yaml(yaml_loader, text, budget=budget)
    except ManifestError:
        exact = YAML_LOADERS.get("python")
        if exact is None or yaml_loader is exact:
            raise
        again = Budget(budget.limits, path=budget.path)
        again.nodes, again.chars, again.aliases = start
        _load_yaml(exact, text, budget=again)
        raise


def _load_yaml(
    loader_type: Callable[[str, Budget], YamlLoader], text: str, *, budget: Budget
) -> list[Any]:
    loader = loader_type(text, budget)
    documents: list[Any] = []
    try:
        while loader.check_node():
            if len(documents) >= budget.limits.max_documents:
                budget.fail(f"has more than {budget.limits.max_documents:,} documents")
            node = loader.get_node()
            data = loader.construct_document(node) if node is not None else None
            where = f"document {len(documents) + 1}"
            documents.append(to_plain(data, budget=budget, count=not loader.counted, where=where))
    except yaml.YAMLError as exc:
        if isinstance(exc, yaml.MarkedYAMLError) and exc.problem == _LIBYAML_TOO_DEEP:
            mark = exc.problem_mark
            budget.fail(
                f"nests deeper than {budget.limits.max_depth} levels",
                line=mark.line + 1 if mark is not None else None,
            )
        raise ManifestParseError(_describe(exc), path=budget.path) from None
    finally:
        loader.dispose()
    return documents


def _describe(exc: yaml.YAMLError) -> str:
    """PyYAML's message without its `in "<unicode string>"` noise."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = "; ".join(part for part in (exc.context, exc.problem) if part)
        if mark is not None:
            return f"line {mark.line + 1} column {mark.column + 1}: {what}"
        return what
    return str(exc)


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a finite number")


def _parse_json(text: str, *, budget: Budget) -> Any:
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except RecursionError:
        budget.fail(f"nests deeper than {budget.limits.max_depth} levels")
    except json.JSONDecodeError as exc:
        raise ManifestParseError(
            f"line {exc.lineno} column {exc.colno}: {exc.msg}", path=budget.path
        ) from None
    except _DuplicateKey as exc:
        raise ManifestParseError(
            f"key {exc.key!r} appears twice in one object", path=budget.path
        ) from None
    except ValueError as exc:
        raise ManifestParseError(str(exc), path=budget.path) from None
    return to_plain(value, budget=budget, count=True, where="")
