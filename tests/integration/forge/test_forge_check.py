"""`orchestrator check` reaches the forge with the agent's token, and says what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import ForgeAuthFailed, ForgeNotFound
from orchestrator.preflight import forge_check
from orchestrator.settings import Settings
from tests.integration.forge.conftest import BusRepo


def _settings(repo: BusRepo, **forge: Any) -> Settings:
    return Settings.model_validate(
        {
            "git": {"url": "/nonexistent/bus.git"},
            "agent": {"environment": "production"},
            "forge": {
                "kind": "gitea",
                "api_url": repo.server.api_url,
                "repository": repo.full_name,
                "token_file": repo.token_file,
                **forge,
            },
        }
    )


def test_the_forge_check_passes_with_the_documented_token(bus_repo: BusRepo) -> None:
    check = forge_check(_settings(bus_repo))
    assert check.result == "ok"
    assert bus_repo.full_name in check.detail


def test_a_wrong_token_or_repository_fails_without_showing_the_token(
    bus_repo: BusRepo, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong-token"
    wrong.write_text("not-a-token-0123456789\n")
    with pytest.raises(ForgeAuthFailed) as refused:
        forge_check(_settings(bus_repo, token_file=wrong))
    assert "not-a-token" not in str(refused.value)
    with pytest.raises(ForgeNotFound):
        forge_check(_settings(bus_repo, repository="nobody/none"))
