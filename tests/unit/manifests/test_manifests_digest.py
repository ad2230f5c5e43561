"""The digest depends on the object only: not on YAML formatting, key order or file format."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.manifests import canonical_json, digest_of, load_manifests

KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_.ABC0123456789", min_size=1, max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]), max_size=20)
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=20,
)


def shuffled(value: Any, rng: random.Random) -> Any:
    """The same value with every mapping's keys in another order."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {key: shuffled(value[key], rng) for key in keys}
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    return value


def obj(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Thing",
        "metadata": {"name": "t", "namespace": "shop"},
        "spec": data,
    }


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=6), st.randoms(use_true_random=False))
def test_same_object_same_digest(data: dict[str, Any], rng: random.Random) -> None:
    body = obj(data)
    renderings = [
        ("a.yaml", yaml.safe_dump(body, default_flow_style=False, sort_keys=True)),
        ("a.yaml", yaml.safe_dump(shuffled(body, rng), default_flow_style=True, sort_keys=False)),
        (
            "a.yaml",
            yaml.safe_dump(shuffled(body, rng), indent=6, default_style='"', sort_keys=False),
        ),
        ("a.yaml", yaml.safe_dump(shuffled(body, rng), canonical=True, sort_keys=False)),
        ("a.json", json.dumps(shuffled(body, rng), separators=(",", ":"))),
        ("a.json", json.dumps(shuffled(body, rng), indent=2, ensure_ascii=True)),
    ]
    digests = {load_manifests({name: text.encode()})[0].digest for name, text in renderings}
    assert digests == {digest_of(body)}


@given(st.dictionaries(KEYS, VALUES, min_size=1, max_size=6))
def test_any_change_changes_the_digest(data: dict[str, Any]) -> None:
    changed = {**data, "extra-key-that-keys-never-make!": 1}
    assert digest_of(obj(data)) != digest_of(obj(changed))


def test_digest_is_sha256_of_canonical_json() -> None:
    body = {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "café"}}
    canonical = '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"café"}}'.encode()
    assert canonical_json(body) == canonical
    assert digest_of(body) == hashlib.sha256(canonical).hexdigest()
    # Pinned: the apply engine stores digests, so they must not change between releases.
    assert digest_of(body) == ("30ff6e32fdaa258f6482b94e1603e27d9c435dbb01f8479cb45f721addcf0128")
