"""The text-level helpers for CEL rules: loop nesting and the optional-field rewrite."""

from __future__ import annotations

import cel
import pytest

from orchestrator.health.cel_source import comprehension_depth, desugar_optionals


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("status.phase == 'Running'", 0),
        ("status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')", 1),
        ("a.all(x, x.b.exists(y, y))", 2),
        ("a.all(x, x.b.exists(y, y.c.map(z, z)))", 3),
        ("a.all(x, f(x)) && b.exists(y, g(y))", 1),
        ("'a.all(x, b.all(y, c.all(z, z)))' == s.map(v, v)", 1),
        ('r"\\" + a.map(x, x)', 1),
        ("'''it's a.all(''' + b", 0),
    ],
)
def test_comprehension_depth_counts_open_loops_outside_strings(text: str, depth: int) -> None:
    assert comprehension_depth(text) == depth


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status.phase == 'x'", "status.phase == 'x'"),
        (
            "status.?conditions.orValue([]).exists(c, c.type == 'Ready')",
            "(has(status.conditions) ? status.conditions : ([])).exists(c, c.type == 'Ready')",
        ),
        (
            "a.b.?c.d.orValue(1) > 0",
            "(has(a.b.c) && has(a.b.c.d) ? a.b.c.d : (1)) > 0",
        ),
        (
            "x.?y.orValue(a.?q.orValue(2))",
            "(has(x.y) ? x.y : ((has(a.q) ? a.q : (2))))",
        ),
        ("s.?p.orValue('a.?b') == 'c'", "(has(s.p) ? s.p : ('a.?b')) == 'c'"),
    ],
)
def test_optional_chains_ending_in_or_value_become_has_tests(text: str, expected: str) -> None:
    assert desugar_optionals(text) == expected


@pytest.mark.parametrize(
    "text", ["status.?phase == 'x'", "status.?phase.hasValue()", "f().?x.orValue(1)"]
)
def test_other_optional_forms_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"only as a field chain ending in \.orValue"):
        desugar_optionals(text)


@pytest.mark.parametrize(
    ("status", "expected"),
    [({}, False), ({"conditions": []}, False), ({"conditions": [{"type": "Ready"}]}, True)],
)
def test_the_rewrite_evaluates_like_an_optional_chain(
    status: dict[str, object], expected: bool
) -> None:
    text = desugar_optionals("status.?conditions.orValue([]).exists(c, c.type == 'Ready')")

    assert cel.evaluate(text, {"status": status}) is expected
