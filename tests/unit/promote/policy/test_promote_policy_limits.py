"""The policy is parsed before any check can help, so parsing it is bounded like a manifest."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.errors import ManifestError, PolicyError
from orchestrator.health.run_template import MAX_TEMPLATE_NODES, template_strings
from orchestrator.manifests.limits import Budget
from orchestrator.manifests.parse import parse_file
from orchestrator.promote.policy.schema import POLICY_LIMITS, parse_policy

FIXTURES = Path(__file__).with_name("fixtures")


def test_an_alias_bomb_in_a_run_template_is_refused_at_once() -> None:
    data = (FIXTURES / "policy-alias-bomb.yaml").read_bytes()
    started = time.monotonic()
    with pytest.raises(PolicyError) as caught:
        parse_policy(data)
    assert time.monotonic() - started < 2
    text = str(caught.value)
    assert text.startswith(".orchestrator/policy.yaml")
    assert "expands to more than 100,000 nodes" in text


def test_a_deep_policy_is_refused_naming_the_limit() -> None:
    data = b"apiVersion: orchestrator.dev/v1alpha1\nkind: PromotionPolicy\nenvironments:\n"
    data += b"  x: " + b"[" * 100 + b"]" * 100 + b"\n"
    with pytest.raises(PolicyError) as caught:
        parse_policy(data)
    assert "line 4: nests deeper than 64 levels" in str(caught.value)


def test_a_policy_of_several_documents_is_refused() -> None:
    with pytest.raises(PolicyError, match="more than 1 documents"):
        parse_policy(b"a: 1\n---\nb: 2\n")


def test_template_walks_are_bounded_even_over_shared_objects() -> None:
    shared: list[object] = ["$(revision)$"] * 8
    for _ in range(12):
        shared = [shared] * 8  # 8^12 strings if walked naively, a few hundred objects here
    template = {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "a"}, "x": shared}
    started = time.monotonic()
    with pytest.raises(ValueError, match=f"more than {MAX_TEMPLATE_NODES:,} values"):
        list(template_strings(template))
    assert time.monotonic() - started < 2


# --- property: whatever the document, the loader stays within POLICY_LIMITS -----------


@st.composite
def _alias_documents(draw: st.DrawFn) -> str:
    """YAML texts with chains of anchors, each level repeating earlier ones, nested in lists."""
    levels = draw(st.integers(min_value=1, max_value=14))
    lines = ["l0: &l0 " + draw(st.sampled_from(['"x"', "[a, b]", "{k: v}", "'$(revision)$'"]))]
    for level in range(1, levels):
        width = draw(st.integers(min_value=1, max_value=12))
        refs = [f"*l{draw(st.integers(min_value=0, max_value=level - 1))}" for _ in range(width)]
        if draw(st.booleans()):
            body = "[" + ", ".join(refs) + "]"
        else:
            body = "{" + ", ".join(f"k{i}: {r}" for i, r in enumerate(refs)) + "}"
        lines.append(f"l{level}: &l{level} {body}")
    depth = draw(st.integers(min_value=0, max_value=120))
    lines.append("deep: " + "[" * depth + "*l0" + "]" * depth)
    return "\n".join(lines) + "\n"


_plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=40,
)


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(_alias_documents())
def test_the_policy_loader_never_exceeds_its_limits(text: str) -> None:
    budget = Budget(POLICY_LIMITS, path="policy.yaml")
    try:
        documents = parse_file(text.encode(), path="policy.yaml", budget=budget)
    except ManifestError:
        documents = None
    # Counting stops at the first step over a limit: never more than one step past it.
    assert budget.aliases <= POLICY_LIMITS.max_aliases + 1
    assert budget.nodes <= 2 * POLICY_LIMITS.max_nodes
    if documents is not None:
        assert budget.nodes <= POLICY_LIMITS.max_nodes
        assert _count(documents) <= POLICY_LIMITS.max_nodes
    with pytest.raises(PolicyError):
        parse_policy(text.encode())  # never anything but a named refusal


@settings(max_examples=100, deadline=2000)
@given(_plain)
def test_any_plain_document_is_a_policy_or_a_named_refusal(value: object) -> None:
    data = json.dumps({"apiVersion": "orchestrator.dev/v1alpha1", "x": value}).encode()
    with pytest.raises(PolicyError):
        parse_policy(data)


def _count(value: object) -> int:
    if isinstance(value, dict):
        return 1 + sum(_count(v) + 1 for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_count(v) for v in value)
    return 1
