"""The commented examples in config/ are valid: operators copy them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.promote.policy.schema import parse_policy
from orchestrator.settings import load_settings

CONFIG = Path(__file__).resolve().parents[3] / "config"


@pytest.mark.parametrize("role", ["build", "staging", "production"])
def test_agent_examples_load(role: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in [k for k in os.environ if k.startswith("ORCHESTRATOR_")]:
        monkeypatch.delenv(key)
    text = (CONFIG / f"{role}-agent.yaml").read_text()
    # The examples point at mounted Secret files; give them files that exist.
    for line in text.splitlines():
        if "_file:" in line:
            path = line.split(":", 1)[1].split("#")[0].strip()
            target = tmp_path / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("x\n")
            text = text.replace(path, str(target))
    example = tmp_path / f"{role}.yaml"
    example.write_text(text)
    settings = load_settings(config_file=example)
    assert settings.agent.environment == role
    assert settings.leader.enabled


def test_policy_example_parses() -> None:
    policy = parse_policy((CONFIG / "policy.yaml").read_bytes())
    assert policy.environment("staging").promotion.to == ["production"]
    assert policy.environment("production").rollback
