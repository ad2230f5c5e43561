"""The field path subset used by `matchFields.key` and `messagePath`."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from orchestrator.health.fieldpath import FieldPath, scalar_text

OBJ: dict[str, Any] = yaml.safe_load(
    """
metadata:
  name: web
  labels: {app.kubernetes.io/name: web, tier: front}
spec: {replicas: 3, paused: false}
status:
  phase: Running
  nothing: null
  conditions:
    - {type: Ready, status: "True", message: all good}
    - {type: Synced, status: "False", message: drift}
    - {type: Extra, status: "False"}
"""
)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("status.phase", "Running"),
        (".status.phase", "Running"),
        ("{.status.phase}", "Running"),
        ("{status.phase}", "Running"),
        ("spec.replicas", 3),
        ("spec.paused", False),
        ("status.conditions[0].type", "Ready"),
        ("status.conditions[-1].type", "Extra"),
        ('status.conditions[?(@.type=="Synced")].message', "drift"),
        ("status.conditions[?(@.type == 'Ready')].status", "True"),
        ("metadata.labels['app.kubernetes.io/name']", "web"),
        ('metadata.labels["tier"]', "front"),
        (r"metadata.labels.app\.kubernetes\.io/name", "web"),
        ("['metadata']['name']", "web"),
    ],
)
def test_lookup_finds(path: str, value: Any) -> None:
    found = FieldPath.parse(path).lookup(OBJ)

    assert found.found, found.problem
    assert found.value == value


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("status.missing", "no value"),
        ("status.nothing", "no value"),
        ("status.conditions[7]", "no value"),
        ("status.phase.deeper", "no value"),
        ("spec[0]", "no value"),
        ('status.conditions[?(@.type=="Gone")].status', "no item matches"),
        ('status.conditions[?(@.status=="False")].type', "ambiguous, 2 items match"),
        ('status.phase[?(@.type=="x")]', "not a list"),
    ],
)
def test_lookup_misses_with_a_reason(path: str, problem: str) -> None:
    found = FieldPath.parse(path).lookup(OBJ)

    assert not found.found
    assert problem in found.problem
    assert found.ambiguous == ("ambiguous" in problem)


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("", "empty path"),
        (".", "empty path"),
        ("status..phase", "'..' is not supported"),
        ("status.conditions[*].type", "wildcards are not supported"),
        ("status.conditions[0:2]", "slices are not supported"),
        ("status.conditions[?(@.type>1)]", "compares with == or !="),
        ("status.conditions[?(@.type==Ready)]", "quoted string, a number or true/false"),
        ("status.conditions[?(@.type=='Ready'", "expected ')'"),
        ("status.conditions[", "unclosed '['"),
        ("status.conditions[0", "expected ']'"),
        ("{.status.phase", "without closing"),
        ("status phase", "not allowed in a field name"),
        ("status.", "expected a field name"),
        ("status]", "unexpected ']'"),
        ("status['phase", "unterminated quoted name"),
    ],
)
def test_parse_rejects(path: str, why: str) -> None:
    with pytest.raises(ValueError, match="invalid field path") as err:
        FieldPath.parse(path)

    assert why in str(err.value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("x", "x"),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (1.5, "1.5"),
        (None, None),
        ({}, None),
    ],
)
def test_scalar_text(value: Any, text: str | None) -> None:
    assert scalar_text(value) == text


def test_filter_on_numbers_and_bools() -> None:
    items = {"items": [{"n": 1, "ok": False, "v": "a"}, {"n": 2, "ok": True, "v": "b"}]}

    assert FieldPath.parse("items[?(@.n==2)].v").lookup(items).value == "b"
    assert FieldPath.parse("items[?(@.ok==true)].v").lookup(items).value == "b"
    assert FieldPath.parse("items[?(@.n!=2)].v").lookup(items).value == "a"
