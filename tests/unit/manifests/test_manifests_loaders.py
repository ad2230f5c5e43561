"""Every YAML loader reads the same text to the same values and charges the same nodes.

The libyaml loader composes in C and charges the budget either while copying
(no anchor in the file) or in one walk over the node graph (anchors); the
pure-Python loader charges while composing. Whatever the text, they must agree
on the values, on the nodes charged and on which limit a file crosses.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.errors import ManifestError, ManifestLimitExceeded, ManifestParseError
from orchestrator.manifests import Limits, parse
from orchestrator.manifests.limits import Budget

KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_.&*0123456789", min_size=1, max_size=8)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), max_size=12)
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=30,
)

pytestmark = pytest.mark.skipif("libyaml" not in parse.YAML_LOADERS, reason="no libyaml")


def _with_aliases(value: Any, shared: Any) -> Any:
    """`value` with `shared` (one object) put in at several places: safe_dump anchors it."""
    if isinstance(value, dict):
        return {**{k: _with_aliases(v, shared) for k, v in value.items()}, "shared": shared}
    if isinstance(value, list):
        return [*(_with_aliases(v, shared) for v in value), shared]
    return value


def _load(loader: str, text: str, limits: Limits) -> tuple[str, Any, int]:
    """(outcome, documents or error message, nodes charged) with one loader."""
    budget = Budget(limits, path="f.yaml")
    previous = parse.yaml_loader
    parse.yaml_loader = parse.YAML_LOADERS[loader]
    try:
        documents = parse.parse_file(text.encode(), path="f.yaml", budget=budget)
    except ManifestLimitExceeded as exc:
        return "limit", _limit_kind(str(exc)), budget.nodes
    except ManifestError as exc:
        return type(exc).__name__, None, budget.nodes
    finally:
        parse.yaml_loader = previous
    return "ok", documents, budget.nodes


def _assert_agree(text: str, limits: Limits) -> str:
    """Both loaders give the same outcome and values; loaded, they charged the same nodes."""
    c_outcome, c_value, c_nodes = _load("libyaml", text, limits)
    py_outcome, py_value, py_nodes = _load("python", text, limits)
    assert (c_outcome, c_value) == (py_outcome, py_value)
    if c_outcome == "ok":
        assert c_nodes == py_nodes
    return c_outcome


def _limit_kind(message: str) -> str:
    for kind in ("aliases", "nodes", "deeper"):
        if kind in message:
            return kind
    return message


@settings(max_examples=150, deadline=None)
@given(value=VALUES, shared=VALUES, max_nodes=st.integers(5, 400), max_aliases=st.integers(1, 8))
def test_loaders_agree_on_values_nodes_and_limits(
    value: Any, shared: Any, max_nodes: int, max_aliases: int
) -> None:
    text = yaml.safe_dump(_with_aliases(value, shared), sort_keys=False)
    limits = Limits(max_nodes=max_nodes, max_aliases=max_aliases, max_depth=12)
    _assert_agree(text, limits)


@given(value=VALUES)
@settings(max_examples=100, deadline=None)
def test_loaders_agree_without_anchors(value: Any) -> None:
    text = yaml.safe_dump(value, sort_keys=False)
    _assert_agree(text, Limits(max_depth=12))


@pytest.mark.parametrize(
    "text",
    [
        "a: &x {k: 1, k: 2}\nb: *x\n",  # a duplicate inside an anchored mapping
        "base: &b {a: 1}\nuse:\n  <<: *b\n  a: 2\n  c: 3\n",  # merge keys, overridden
        "a: &s plain\nb: *s\nc: *s\n",  # aliased scalars
        "a: [&x [1, 2], *x, *x]\n---\nb: *x\n",  # an anchor does not outlive its document
        "t: 2001-12-14\ne: =\nq: '&not an anchor'\n",
    ],
)
def test_loaders_agree_on_edge_cases(text: str) -> None:
    assert _assert_agree(text, Limits()) in ("ok", ManifestParseError.__name__)
