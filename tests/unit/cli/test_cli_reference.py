"""The settings reference shows computed defaults as the agent computes them."""

from __future__ import annotations

import re
import socket

import pytest
from click.testing import CliRunner

from orchestrator.agent.leader import default_identity
from orchestrator.cli import main


def _row(setting: str) -> list[str]:
    output = CliRunner().invoke(main, ["config-reference"]).output
    (line,) = [row for row in output.splitlines() if row.startswith(f"| `{setting}` ")]
    return [cell.strip() for cell in line.strip("|").split(" | ")]


def test_leader_identity_default_is_pod_name_or_hostname_with_a_random_suffix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _row("leader.identity")[3] == (
        "`$POD_NAME` (else the hostname) `_<8 random hex digits>`"
    )
    monkeypatch.setenv("POD_NAME", "orchestrator-7d9f-abcde")
    assert re.fullmatch(r"orchestrator-7d9f-abcde_[0-9a-f]{8}", default_identity())
    monkeypatch.delenv("POD_NAME")
    assert re.fullmatch(re.escape(socket.gethostname()) + r"_[0-9a-f]{8}", default_identity())


def test_agent_identity_default_is_orchestrator_at_hostname() -> None:
    assert _row("agent.identity")[3] == "`orchestrator@<hostname>`"
