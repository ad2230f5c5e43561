"""`orchestrator validate` refuses a policy whose CEL health rule does not compile."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from orchestrator.cli import main

FIXTURES = Path(__file__).with_name("fixtures")


def test_a_broken_cel_expression_fails_validation_naming_the_rule() -> None:
    result = CliRunner().invoke(main, ["validate", str(FIXTURES / "broken-cel-rule"), "-o", "json"])

    assert result.exit_code == 3, result.output
    problems = json.loads(result.output)["problems"]
    assert any(
        "environments.staging.health.rules.0" in problem
        and "health rule for cert-manager.io/Certificate: failed: invalid CEL expression" in problem
        and "Syntax error" in problem
        for problem in problems
    ), problems
