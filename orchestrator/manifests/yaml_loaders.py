"""The YAML loaders `parse` chooses from, each charging the budget as it reads.

A loader turns text into PyYAML nodes, charges `Budget` for the tree a full
walk of them would visit (an alias costs everything it stands for, each time
it is used, so a "billion laughs" file fails after about fifty alias uses
while its node graph is still a few kilobytes), refuses a key given twice in
one mapping, and builds Python values with PyYAML's safe constructor.

- `libyaml` (the default where PyYAML was built with it): libyaml scans,
  parses and composes in C. A file with no `&` in its text has no anchor,
  hence no alias: its node graph is a tree no bigger than the file, and the
  JSON-shape copy that follows counts its nodes and depth (`counted` is
  False). A file with an anchor gets one walk over its node graph before
  anything is constructed: every node is charged once, and each further
  arrival at a node already seen is an alias use, charged with that node's
  expanded size. Composing stays in C either way, which makes loading
  several times faster than composing in Python.
- `python`: PyYAML's pure-Python reader, scanner and parser with a counting
  composer, for a PyYAML built without libyaml; `parse` also has it read a
  file the libyaml loader refused, to word the refusal (the limit met first,
  at the line where it is met).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from orchestrator.errors import ManifestParseError
from orchestrator.manifests.limits import Budget

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_VALUE = "tag:yaml.org,2002:value"
_STR = "tag:yaml.org,2002:str"


class YamlLoader(Protocol):
    """What `parse` needs of a loader (PyYAML's loader interface, plus `counted`)."""

    # True when the budget has been charged for every node of the last document;
    # False leaves the counting to the JSON-shape copy.
    counted: bool

    def check_node(self) -> bool: ...
    def get_node(self) -> Node | None: ...
    def construct_document(self, node: Node) -> Any: ...
    def dispose(self) -> None: ...


class _Resolver(Resolver):
    """YAML 1.1 resolution without timestamps and `=`, which Kubernetes reads as strings."""

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML's class-level table
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_TIMESTAMP, _VALUE)]
        for first, resolvers in Resolver.yaml_implicit_resolvers.items()
    }


def _refuse_duplicate_keys(node: MappingNode) -> None:
    """A string key given twice in one mapping is an error; other keys are refused later."""
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


class _CountingComposer(Composer):
    """Composes nodes in Python while charging the budget, for the pure-Python loader."""

    counted = True

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
        _refuse_duplicate_keys(node)
        return node


class _PythonLoader(_CountingComposer, Reader, Scanner, Parser, SafeConstructor, _Resolver):
    """Pure-Python scanning, parsing and composing."""

    def __init__(self, stream: str, budget: Budget) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _CountingComposer.__init__(self, budget)
        SafeConstructor.__init__(self)
        _Resolver.__init__(self)


class _GraphCharge:
    """One walk over a composed node graph, charging what a full walk of the tree would visit."""

    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        # Expanded (nodes, characters) of every node walked so far; a node in
        # `_open` is still being walked, so reaching it again is a cycle.
        self._sizes: dict[Node, tuple[int, int]] = {}
        self._open: set[Node] = set()

    def walk(self, node: Node, depth: int = 1) -> None:
        budget = self._budget
        line = node.start_mark.line + 1
        size = self._sizes.get(node)
        if size is not None:
            budget.alias(line=line)
            budget.spend(nodes=size[0], chars=size[1], line=line)
            return
        if node in self._open:
            raise ManifestParseError(
                f"line {line}: an alias is used inside the node it names", path=budget.path
            )
        if depth > budget.limits.max_depth:
            budget.fail(f"nests deeper than {budget.limits.max_depth} levels", line=line)
        nodes, chars = budget.nodes, budget.chars
        if isinstance(node, CollectionNode):
            self._open.add(node)
            for item in node.value:
                for child in item if isinstance(node, MappingNode) else (item,):
                    self.walk(child, depth + 1)
            self._open.discard(node)
        budget.spend(
            nodes=1, chars=len(node.value) if isinstance(node, ScalarNode) else 0, line=line
        )
        self._sizes[node] = (budget.nodes - nodes, budget.chars - chars)


class _UniqueKeyConstructor(SafeConstructor):
    """PyYAML's safe constructor, refusing a key given twice in one mapping."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        _refuse_duplicate_keys(node)
        return super().construct_mapping(node, deep=deep)


YAML_LOADERS: dict[str, Callable[[str, Budget], YamlLoader]] = {"python": _PythonLoader}

try:
    from yaml._yaml import CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    pass
else:

    class _LibyamlLoader(CParser, _UniqueKeyConstructor, _Resolver):
        """libyaml scans, parses and composes; anchored files get one charging walk."""

        def __init__(self, stream: str, budget: Budget) -> None:
            CParser.__init__(self, stream)
            _UniqueKeyConstructor.__init__(self)
            _Resolver.__init__(self)
            self._budget = budget
            # Without `&` there is no anchor, so no alias: the graph is a tree.
            self.counted = "&" in stream

        def get_node(self) -> Node | None:
            node: Node | None = CParser.get_node(self)
            if node is not None and self.counted:
                _GraphCharge(self._budget).walk(node)
            return node

    YAML_LOADERS = {"libyaml": _LibyamlLoader, **YAML_LOADERS}
