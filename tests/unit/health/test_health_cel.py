"""CEL health rules in Flux's `healthCheckExprs` shape: verdicts, load-time errors, bounds.

Each file in `cel/` holds one rule exactly as a Flux user would paste it from a
Kustomization's `healthCheckExprs` (most from Flux's documentation), a base object,
and cases: changes to the object and the verdict expected.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from orchestrator.health import HealthStatus, object_health
from orchestrator.health.cel_rules import (
    MAX_EXPRESSION_CHARS,
    MAX_ITERATIONS,
    CelRule,
    evaluate_cel,
)
from orchestrator.health.rules import HealthRule, HealthRules

CASES_DIR = Path(__file__).with_name("cel")


def _cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        for index, case in enumerate(doc["cases"]):
            params.append(pytest.param(doc["rule"], doc["object"], case, id=f"{path.stem}-{index}"))
    return params


def _object(base: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(base)
    for key in ("apiVersion", "spec"):
        if key in case:
            obj[key] = case[key]
    obj["metadata"].update(case.get("metadata", {}))
    if case["status"] is None:
        obj.pop("status", None)
    else:
        obj["status"] = case["status"]
    return obj


@pytest.mark.parametrize(("rule", "base", "case"), _cases())
def test_pasted_flux_expressions_give_the_expected_verdict(
    rule: dict[str, Any], base: dict[str, Any], case: dict[str, Any]
) -> None:
    rules = HealthRules.model_validate([rule])

    result = object_health(_object(base, case), rules=rules)

    assert result.status is HealthStatus(case["expect"]["status"]), result.message
    assert case["expect"]["message_contains"] in result.message


def test_every_case_file_covers_healthy_and_not_healthy() -> None:
    for path in CASES_DIR.glob("*.yaml"):
        statuses = {c["expect"]["status"] for c in yaml.safe_load(path.read_text())["cases"]}
        assert "Healthy" in statuses, path.name
        assert statuses - {"Healthy"}, path.name


WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "current": "true"}


def _refusal(**entry: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        HealthRules.model_validate([{**WIDGET, **entry}])
    return str(caught.value)


def test_a_broken_expression_is_refused_naming_the_rule_and_the_field() -> None:
    message = _refusal(failed="status.conditions.exists(c, c.type == 'Ready'")

    assert "health rule for example.com/Widget: failed: invalid CEL expression" in message
    assert "Syntax error" in message


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"current": None, "failed": "true"}, "needs a healthRule, or a CEL `current` expression"),
        ({"healthRule": {"alwaysHealthy": {}}}, "either healthRule or CEL expressions"),
        ({"current": "  "}, "current: empty CEL expression"),
        ({"current": "x" * (MAX_EXPRESSION_CHARS + 1)}, "at most 4096 allowed"),
        (
            {"current": "a.all(x, x.b.all(y, y.c.exists(z, z)))"},
            "nests 3 looping macros (all, exists, exists_one, map, filter); at most 2",
        ),
        ({"inProgress": "status.?phase == 'x'"}, "inProgress: invalid CEL expression: optional"),
        ({"current": "true", "Current": "true"}, "Extra inputs are not permitted"),
    ],
)
def test_mistakes_are_refused_when_the_policy_loads(entry: dict[str, Any], expected: str) -> None:
    assert expected in _refusal(**entry)


def test_a_rule_without_expressions_or_healthrule_is_refused() -> None:
    with pytest.raises(ValidationError, match="needs a healthRule"):
        HealthRules.model_validate([{"apiVersion": "example.com/v1", "kind": "Widget"}])


def test_rule_for_returns_the_cel_rule_and_healthrules_still_work() -> None:
    rules = HealthRules.model_validate(
        [
            {**WIDGET, "failed": "false"},
            {"group": "example.com", "kind": "Gadget", "healthRule": {"alwaysHealthy": {}}},
        ]
    )

    assert rules.rule_for("example.com", "Widget") == CelRule(
        name="example.com/Widget", current="true", failed="false"
    )
    assert isinstance(rules.rule_for("example.com", "Gadget"), HealthRule)


def test_one_rule_per_kind_across_both_forms() -> None:
    with pytest.raises(ValidationError, match="two health rules for kind Widget"):
        HealthRules.model_validate(
            [
                WIDGET,
                {"group": "example.com", "kind": "Widget", "healthRule": {"alwaysHealthy": {}}},
            ]
        )


# --- evaluation: Flux's order, errors, bounds -------------------------------------


def widget(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "generation": 1},
        "status": status,
    }


EVERYTHING_TRUE = CelRule(
    name="example.com/Widget", current="true", in_progress="true", failed="true"
)


def test_the_first_true_expression_decides_in_flux_order() -> None:
    assert evaluate_cel(EVERYTHING_TRUE, widget())[0] is HealthStatus.PROGRESSING
    failed_first = CelRule(name="w", current="true", failed="true")
    assert evaluate_cel(failed_first, widget())[0] is HealthStatus.FAILED


def test_an_expression_that_does_not_give_a_boolean_is_unknown() -> None:
    rule = CelRule(name="example.com/Widget", current="status.replicas")

    status, message = evaluate_cel(rule, widget(replicas=3))

    assert status is HealthStatus.UNKNOWN
    assert message == "rule example.com/Widget: current must be true or false, not int 3"


def test_a_runtime_error_is_unknown_and_never_raises() -> None:
    rule = CelRule(name="example.com/Widget", current="status.replicas / status.zero == 1")

    status, message = evaluate_cel(rule, widget(replicas=3, zero=0))

    assert status is HealthStatus.UNKNOWN
    assert "current cannot be evaluated: division by zero" in message


def test_a_missing_field_names_the_key() -> None:
    rule = CelRule(name="example.com/Widget", current="status.phase == 'Running'")

    assert evaluate_cel(rule, widget()) == (
        HealthStatus.UNKNOWN,
        "rule example.com/Widget: current cannot be evaluated: no such key: phase",
    )


def test_nested_loops_over_a_huge_list_are_not_evaluated() -> None:
    rule = CelRule(
        name="example.com/Widget",
        current="status.items.all(a, status.items.exists(b, a == b))",
    )
    side = int(MAX_ITERATIONS**0.5)

    fits = evaluate_cel(rule, widget(items=list(range(side))))
    too_big = evaluate_cel(rule, widget(items=list(range(side + 1))))

    assert fits[0] is HealthStatus.HEALTHY
    assert too_big[0] is HealthStatus.UNKNOWN
    assert f"a list of {side + 1} items under 2 nested loop(s)" in too_big[1]


def test_a_single_loop_over_a_long_list_is_evaluated() -> None:
    rule = CelRule(name="example.com/Widget", current="status.items.all(a, a >= 0)")

    assert evaluate_cel(rule, widget(items=list(range(100_000))))[0] is HealthStatus.HEALTHY


def test_a_stale_observed_generation_wins_over_any_expression() -> None:
    obj = widget(observedGeneration=0)

    status, message = evaluate_cel(EVERYTHING_TRUE, obj)

    assert status is HealthStatus.PROGRESSING
    assert message == "waiting for controller to observe generation 1 (observed 0)"


def test_the_cel_library_is_imported_only_by_a_policy_that_has_a_cel_rule() -> None:
    """Its package imports a REPL (about 10 MB resident); an agent without CEL rules skips it."""
    probe = (
        "import sys\n"
        "import orchestrator.agent.runner\n"
        "from orchestrator.health.rules import HealthRules\n"
        "HealthRules.model_validate([])\n"
        "assert 'cel' not in sys.modules, 'imported without a CEL rule'\n"
        f"HealthRules.model_validate([{WIDGET!r}])\n"
        "assert 'cel' in sys.modules, 'a CEL rule did not load it'\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True)
