"""Safe YAML and JSON parsing under the limits, to plain JSON-shaped data.

What comes out is what Kubernetes objects are made of: mappings with string
keys, lists, strings, integers, finite floats, booleans and null, as a tree
(no object shared between two places, so later stages may walk or change it).

YAML is read with PyYAML's safe constructor, but composed by a counting
composer of our own: an alias costs everything it stands for each time it is
used, so a "billion laughs" file fails after about fifty alias events, while
its composed graph is still a few kilobytes. The counts are kept in a `Budget`
that parameter substitution goes on spending from. Where libyaml is available
its parser does the scanning (about five times faster); the counting composer
is Python either way.

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
import math
from collections.abc import Callable
from typing import Any, NoReturn, Protocol

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from orchestrator.errors import ManifestParseError
from orchestrator.manifests.fields import field_path
from orchestrator.manifests.limits import Budget

# libyaml (PyYAML >= 6.0.3) refuses more than 1,000 nesting levels while scanning,
# before the counting composer sees the first node. Its ceiling is far above ours
# (`DEPTH_CEILING`), so crossing it is crossing `max_depth`, and is reported as such.
_LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_VALUE = "tag:yaml.org,2002:value"
_STR = "tag:yaml.org,2002:str"


class _Resolver(Resolver):
    """YAML 1.1 resolution without timestamps and `=`, which Kubernetes reads as strings."""

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML's class-level table
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_TIMESTAMP, _VALUE)]
        for first, resolvers in Resolver.yaml_implicit_resolvers.items()
    }


class _CountingComposer(Composer):
    """Composes nodes while charging the budget for the tree a full walk would visit.

    It also refuses a key given twice in one mapping; keys that are not plain
    strings need no check here, since they are refused later anyway.
    """

    def __init__(self, budget: Budget) -> None:
        super().__init__()
        self._budget = budget
        self._depth = 0
        # Expanded (nodes, characters) of every anchored node of this document.
        self._sizes: dict[Node, tuple[int, int]] = {}

    def compose_document(self) -> Node | None:
        self._sizes = {}
        return super().compose_document()

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        budget = self._budget
        event: Any = self.peek_event()  # type: ignore[attr-defined]
        line: int = event.start_mark.line + 1
        if isinstance(event, AliasEvent):
            budget.alias(line=line)
            node = super().compose_node(parent, index)
            size = self._sizes.get(node) if node is not None else None
            if size is None:
                raise ManifestParseError(
                    f"line {line}: alias *{event.anchor} is used inside the node it names",
                    path=budget.path,
                )
            budget.spend(nodes=size[0], chars=size[1], line=line)
            return node
        self._depth += 1
        if self._depth > budget.limits.max_depth:
            budget.fail(f"nests deeper than {budget.limits.max_depth} levels", line=line)
        nodes, chars = budget.nodes, budget.chars
        node = super().compose_node(parent, index)
        budget.spend(
            nodes=1, chars=len(node.value) if isinstance(node, ScalarNode) else 0, line=line
        )
        if event.anchor is not None and node is not None:
            self._sizes[node] = (budget.nodes - nodes, budget.chars - chars)
        self._depth -= 1
        return node

    def compose_mapping_node(self, anchor: Any) -> MappingNode:
        node = super().compose_mapping_node(anchor)
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _STR:
                if key_node.value in seen:
                    raise ComposerError(
                        "while composing a mapping",
                        node.start_mark,
                        f"found key {key_node.value!r} twice",
                        key_node.start_mark,
                    )
                seen.add(key_node.value)
        return node


class _YamlLoader(Protocol):
    def check_node(self) -> bool: ...
    def get_node(self) -> Node | None: ...
    def construct_document(self, node: Node) -> Any: ...
    def dispose(self) -> None: ...


class _PythonLoader(_CountingComposer, Reader, Scanner, Parser, SafeConstructor, _Resolver):
    """Pure-Python scanning and parsing."""

    def __init__(self, stream: str, budget: Budget) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _CountingComposer.__init__(self, budget)
        SafeConstructor.__init__(self)
        _Resolver.__init__(self)


YAML_LOADERS: dict[str, Callable[[str, Budget], _YamlLoader]] = {"python": _PythonLoader}

try:
    from yaml._yaml import CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    pass
else:

    class _LibyamlLoader(_CountingComposer, CParser, SafeConstructor, _Resolver):
        """libyaml scans and parses; the counting composer stays in charge of nodes."""

        def __init__(self, stream: str, budget: Budget) -> None:
            CParser.__init__(self, stream)
            _CountingComposer.__init__(self, budget)
            SafeConstructor.__init__(self)
            _Resolver.__init__(self)

    YAML_LOADERS = {"libyaml": _LibyamlLoader, **YAML_LOADERS}

# The loader parse_file uses; tests switch it to cover both.
yaml_loader: Callable[[str, Budget], _YamlLoader] = next(iter(YAML_LOADERS.values()))


def parse_file(data: bytes, *, path: str, budget: Budget) -> list[Any]:
    """The documents of one file (`None` for an empty YAML document), by extension.

    `.json` files are one JSON value; anything else is read as a YAML stream.
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
        return [_parse_json(text, budget=budget)]
    return _parse_yaml(text, budget=budget)


def _parse_yaml(text: str, *, budget: Budget) -> list[Any]:
    loader = yaml_loader(text, budget)
    documents: list[Any] = []
    try:
        while loader.check_node():
            if len(documents) >= budget.limits.max_documents:
                budget.fail(f"has more than {budget.limits.max_documents:,} documents")
            node = loader.get_node()
            data = loader.construct_document(node) if node is not None else None
            where = f"document {len(documents) + 1}"
            documents.append(to_plain(data, budget=budget, count=False, where=where))
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
    if value is None or isinstance(value, str | bool | int):
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
            out[key] = _copy(item, depth + 1, budget, count)
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
