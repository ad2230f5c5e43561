"""Safe parsing: what is not plain JSON-shaped data is a ManifestParseError naming the file."""

from __future__ import annotations

import pytest

from orchestrator.errors import ManifestParseError
from orchestrator.manifests import load_manifests

from .manifests_fixtures import fixture

# (fixture, message fragment)
CASES = [
    ("parse/syntax-error.yaml", "line 4"),
    (
        "parse/duplicate-key.yaml",
        "line 10 column 11: while composing a mapping; found key 'image' twice",
    ),
    ("parse/duplicate-key.json", "key 'apiVersion' appears twice"),
    ("parse/trailing-comma.json", "line 1 column 42"),
    ("parse/nan.json", "NaN is not a finite number"),
    ("parse/infinity.yaml", "document 1: spec.limit: inf is not a finite number"),
    ("parse/binary-tag.yaml", "binaryData.blob: a bytes value has no JSON form"),
    ("parse/set-tag.yaml", "data: a set value has no JSON form"),
    ("parse/non-string-key.yaml", "data: mapping key 8080 is not a string; quote it"),
    ("parse/python-tag.yaml", "could not determine a constructor"),
    ("parse/unknown-tag.yaml", "could not determine a constructor for the tag '!Secret'"),
    ("parse/undefined-alias.yaml", "undefined alias"),
]


@pytest.mark.parametrize(("name", "message"), CASES)
def test_unparseable_file_names_file_and_place(yaml_loader: str, name: str, message: str) -> None:
    with pytest.raises(ManifestParseError) as caught:
        load_manifests({name: fixture(name)})
    assert caught.value.path == name
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{name}: ")


def test_not_utf8_is_a_parse_error() -> None:
    with pytest.raises(ManifestParseError, match="not UTF-8"):
        load_manifests({"latin1.yaml": "name: caf\xe9\n".encode("latin-1")})


def test_byte_order_mark_is_accepted() -> None:
    text = b"\xef\xbb\xbfapiVersion: v1\nkind: Namespace\nmetadata: {name: bom}\n"
    assert [str(m.ref) for m in load_manifests({"bom.yaml": text})] == ["Namespace/bom"]


def test_python_tag_runs_nothing(yaml_loader: str, capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ManifestParseError):
        load_manifests({"p.yaml": fixture("parse/python-tag.yaml")})
    assert "pwned" not in capfd.readouterr().out
