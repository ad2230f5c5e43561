"""Every limit: it stops the file that crosses it, and just below it the file loads."""

from __future__ import annotations

import dataclasses
import time
import tracemalloc

import pytest

from orchestrator.errors import ManifestErrors, ManifestLimitExceeded, ManifestParseError
from orchestrator.manifests import Limits, load_manifests
from orchestrator.manifests.limits import DEPTH_CEILING, MiB

from .manifests_fixtures import fixture, tree

# (fixture, the limit that stops it, the setting at which it loads, message)
CASES = [
    ("limits/many-documents.yaml", Limits(max_documents=4), Limits(max_documents=5), "documents"),
    ("limits/aliases.yaml", Limits(max_aliases=4), Limits(max_aliases=5), "aliases"),
    ("limits/deep.yaml", Limits(max_depth=32), Limits(max_depth=33), "deeper than 32"),
    ("limits/deep.json", Limits(max_depth=32), Limits(max_depth=33), "deeper than 32"),
    ("limits/aliases.yaml", Limits(max_nodes=50), Limits(max_nodes=1_000), "50 nodes"),
    ("limits/deep.json", Limits(max_nodes=50), Limits(max_nodes=1_000), "50 nodes"),
    (
        "limits/quadratic.yaml",
        Limits(max_file_bytes=20_000),
        Limits(max_file_bytes=50_000),
        "20,000 characters",
    ),
    (
        "limits/many-documents.yaml",
        Limits(max_file_bytes=298),
        Limits(max_file_bytes=299),
        "299 bytes, over the limit of 298",
    ),
]


@pytest.mark.parametrize(("name", "stops", "passes", "message"), CASES)
def test_limit_stops_the_file_and_only_the_limit(
    yaml_loader: str, name: str, stops: Limits, passes: Limits, message: str
) -> None:
    files = {name: fixture(name)}
    assert load_manifests(files, limits=passes)
    with pytest.raises(ManifestLimitExceeded, match=message) as caught:
        load_manifests(files, limits=stops)
    assert caught.value.path == name


def test_total_objects_count_list_items_across_files() -> None:
    files = tree("limits/objects")
    assert len(load_manifests(files, limits=Limits(max_objects=5))) == 5
    with pytest.raises(ManifestLimitExceeded, match="over 4 objects") as caught:
        load_manifests(files, limits=Limits(max_objects=4))
    # one.yaml brings 2, three.yaml 1 (3 so far), two.yaml's List 2 more.
    assert caught.value.path == "two.yaml"


def test_total_objects_stop_the_load_at_once() -> None:
    files = {**tree("limits/objects"), "zz.yaml": b"not: [valid"}
    with pytest.raises(ManifestLimitExceeded):
        load_manifests(files, limits=Limits(max_objects=4))


def test_total_objects_count_objects_that_fail_too() -> None:
    files = {
        "a.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: $(params.x)$}\n",
        "b.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: s}\n",
    }
    with pytest.raises(ManifestLimitExceeded, match="over 1 objects") as caught:
        load_manifests(files, limits=Limits(max_objects=1))
    assert caught.value.path == "b.yaml"


def test_other_limits_stop_only_their_file() -> None:
    files = {
        "a.yaml": fixture("limits/many-documents.yaml"),
        "b.yaml": fixture("invalid/missing-kind.yaml"),
    }
    with pytest.raises(ManifestErrors) as caught:
        load_manifests(files, limits=Limits(max_documents=2))
    assert [(type(e).__name__, e.path) for e in caught.value.errors] == [
        ("ManifestLimitExceeded", "a.yaml"),
        ("InvalidObject", "b.yaml"),
    ]


def test_file_size_is_checked_before_anything_is_parsed() -> None:
    huge = b"[" * (4 * MiB + 1)
    started = time.perf_counter()
    with pytest.raises(ManifestLimitExceeded, match="over the limit of 4,194,304"):
        load_manifests({"huge.yaml": huge})
    assert time.perf_counter() - started < 0.5


def test_billion_laughs_fails_fast_with_little_memory(yaml_loader: str) -> None:
    files = {"lol.yaml": fixture("limits/billion-laughs.yaml")}
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ManifestLimitExceeded, match="1,000,000 nodes") as caught:
            load_manifests(files)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.path == "lol.yaml"
    assert elapsed < 1.0
    assert peak < 2 * MiB, f"peak {peak:,} bytes"


def test_billion_laughs_is_stopped_under_default_limits_even_with_many_aliases_allowed(
    yaml_loader: str,
) -> None:
    limits = Limits(max_aliases=1_000_000)
    with pytest.raises(ManifestLimitExceeded, match="nodes"):
        load_manifests({"lol.yaml": fixture("limits/billion-laughs.yaml")}, limits=limits)


def test_recursive_alias_is_refused(yaml_loader: str) -> None:
    with pytest.raises(ManifestParseError, match="inside the node it names"):
        load_manifests({"r.yaml": fixture("limits/recursive-alias.yaml")})


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.yaml", "[" * 50_000 + "]" * 50_000),
        ("deep.yaml", "".join(f"{'  ' * i}k:\n" for i in range(2_000))),
        ("deep.json", "[" * 50_000 + "]" * 50_000),
        ("deep.json", '{"a":' * 5_000 + "1" + "}" * 5_000),
    ],
)
def test_pathological_nesting_is_a_limit_not_a_crash(
    yaml_loader: str, name: str, text: str
) -> None:
    with pytest.raises(ManifestLimitExceeded, match="nests deeper than 100 levels"):
        load_manifests({name: text.encode()})


def test_parameters_cannot_amplify_a_file_past_its_budget() -> None:
    big = {f"key{i}": "v" * 10 for i in range(40)}  # 81 nodes, 440 characters
    uses = "".join(f"  use{i}: $(params.big)$\n" for i in range(30))
    files = {
        "a.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\ndata:\n" + uses
        ).encode()
    }
    assert load_manifests(files, params={"big": big}, limits=Limits(max_nodes=5_000))
    with pytest.raises(ManifestLimitExceeded, match="1,000 nodes") as caught:
        load_manifests(files, params={"big": big}, limits=Limits(max_nodes=1_000))
    assert caught.value.path == "a.yaml"
    with pytest.raises(ManifestLimitExceeded, match="characters"):
        load_manifests(files, params={"big": big}, limits=Limits(max_file_bytes=5_000))


def test_embedded_parameters_count_their_characters() -> None:
    uses = "".join(f"  use{i}: x-$(params.long)$\n" for i in range(20))
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\ndata:\n" + uses
    files = {"a.yaml": text.encode()}
    assert load_manifests(files, params={"long": "y" * 100}, limits=Limits(max_file_bytes=4_000))
    with pytest.raises(ManifestLimitExceeded, match="characters"):
        load_manifests(files, params={"long": "y" * 1_000}, limits=Limits(max_file_bytes=4_000))


def test_defaults_are_documented_values() -> None:
    assert Limits() == Limits(
        max_file_bytes=4 * MiB,
        max_documents=1_000,
        max_objects=10_000,
        max_nodes=1_000_000,
        max_aliases=1_000,
        max_depth=100,
    )
    for field in dataclasses.fields(Limits):
        assert field.name in (Limits.__doc__ or "")


@pytest.mark.parametrize(
    "kwargs",
    [{"max_objects": 0}, {"max_file_bytes": -1}, {"max_depth": DEPTH_CEILING + 1}],
)
def test_nonsense_limits_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=r"Limits\.max_"):
        Limits(**kwargs)
