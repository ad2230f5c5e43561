"""The installed command is the CLI group plus `orchestrator agent`."""

from __future__ import annotations

import tomllib
from pathlib import Path

from click.testing import CliRunner

from orchestrator.entry import main

ROOT = Path(__file__).resolve().parents[3]


def test_the_console_script_is_the_entry_module() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["orchestrator"] == "orchestrator.entry:main"


def test_agent_sits_next_to_the_commands_people_run() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    commands = result.output.split("Commands:")[1]
    for name in ("agent", "status", "reconcile", "check"):
        assert f"\n  {name} " in commands


def test_agent_help_names_its_options() -> None:
    result = CliRunner().invoke(main, ["agent", "--help"])
    assert result.exit_code == 0
    for option in ("--config", "--kubeconfig", "--context"):
        assert option in result.output
