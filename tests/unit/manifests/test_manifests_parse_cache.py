"""Parsed files come back from the cache as a fresh parse would: same values, same charge."""

from __future__ import annotations

import pytest

from orchestrator.errors import ManifestLimitExceeded, ManifestParseError
from orchestrator.manifests import Limits, load_manifests
from orchestrator.manifests.limits import Budget
from orchestrator.manifests.parse import cache, parse_file
from orchestrator.manifests.parse_cache import ParseCache

TEXT = b"a: &x {k: [1, 2.5, true, null, text]}\nb: *x\n---\nc: 3\n"


def _parse(data: bytes, *, path: str = "f.yaml") -> tuple[list[object], Budget]:
    budget = Budget(Limits(), path=path)
    return parse_file(data, path=path, budget=budget), budget


def test_a_hit_gives_equal_fresh_documents_and_charges_the_same() -> None:
    cache.clear()
    first, first_budget = _parse(TEXT)
    second, second_budget = _parse(TEXT)
    assert (cache.misses, cache.hits) == (1, 1)
    assert second == first
    first[0]["a"]["k"].append("changed")  # type: ignore[index]
    assert _parse(TEXT)[0] != first
    charged = (first_budget.nodes, first_budget.chars, first_budget.aliases)
    assert (second_budget.nodes, second_budget.chars, second_budget.aliases) == charged
    assert charged[2] == 1


def test_limits_and_format_are_part_of_the_key() -> None:
    cache.clear()
    _parse(TEXT)
    with pytest.raises(ManifestLimitExceeded, match="more than 5 nodes"):
        parse_file(TEXT, path="f.yaml", budget=Budget(Limits(max_nodes=5), path="f"))
    assert parse_file(b'{"c": 3}', path="f.json", budget=Budget(Limits(), path="f.json"))
    assert cache.misses >= 2


def test_a_file_that_fails_is_parsed_and_reported_every_time() -> None:
    cache.clear()
    for _ in range(2):
        with pytest.raises(ManifestParseError):
            _parse(b"a: [1\n")
    assert cache.hits == 0


def test_the_cache_drops_the_least_recently_used_beyond_its_capacity() -> None:
    small = ParseCache(capacity_bytes=200)
    budget = Budget(Limits(), path="f")
    for index in range(10):
        small.parse(bytes([index]), kind="k", budget=budget, parse=lambda: [{"v": "x" * 50}])
    assert 0 < small.size_bytes <= 200
    small.parse(bytes([9]), kind="k", budget=budget, parse=lambda: [])
    assert small.hits == 1


def test_an_escaped_placeholder_is_still_filled() -> None:
    files = {
        "cm.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: s}\n"
        b'data: {x: "\\x24(params.x)$"}\n'
    }
    (manifest,) = load_manifests(files, params={"x": "filled"})
    assert manifest.body["data"] == {"x": "filled"}
