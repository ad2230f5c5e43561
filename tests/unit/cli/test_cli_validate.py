"""`orchestrator validate` finds each class of bad input offline, with exit code 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import main

FIXTURES = Path(__file__).with_name("fixtures")


def validate(case: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", str(FIXTURES / case), *args])
    return result.exit_code, result.output


def test_a_valid_checkout_passes() -> None:
    code, out = validate("valid")
    assert code == 0, out
    assert "staging: 1 object(s)" in out
    assert "production: 1 object(s)" in out
    assert out.rstrip().endswith("valid")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("broken-policy", "unknown environment 'nowhere'"),
        ("broken-yaml", "manifests/app.yaml"),
        ("missing-param", "production: manifests/app.yaml"),
        ("duplicate", "manifests/a.yaml"),
        ("not-allowed", "Secret/kube-system/s"),
    ],
)
def test_each_class_of_bad_input_fails_with_exit_3(case: str, expected: str) -> None:
    code, out = validate(case, "-o", "json")
    assert code == 3, out
    report = json.loads(out)
    assert report["valid"] is False
    assert any(expected in problem for problem in report["problems"]), report["problems"]
    assert "Traceback" not in out


def test_missing_param_can_be_given_like_an_agent_setting() -> None:
    code, out = validate("missing-param", "--env", "production", "--param", "replicas=4")
    assert code == 0, out


def test_duplicates_name_both_files() -> None:
    code, out = validate("duplicate", "--env", "staging", "-o", "json")
    assert code == 3
    problems = " ".join(json.loads(out)["problems"])
    assert "manifests/a.yaml" in problems
    assert "manifests/b.yaml" in problems


def test_configuration_reference_is_generated_from_the_settings() -> None:
    result = CliRunner().invoke(main, ["config-reference"])
    assert result.exit_code == 0
    docs = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"
    assert docs.read_text() == result.output, (
        "run: orchestrator config-reference > docs/configuration.md"
    )


def test_every_command_explains_itself() -> None:
    for name in main.list_commands(None):  # type: ignore[arg-type]
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert len(result.output.splitlines()) > 4, name
