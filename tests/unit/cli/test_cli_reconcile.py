"""Where `orchestrator reconcile` finds the webhook secret, and its refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.cli.reconcile import SECRET_ENV, SECRET_FILE_ENV, webhook_secret
from orchestrator.errors import OrchestratorError


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    monkeypatch.delenv(SECRET_FILE_ENV, raising=False)


def test_the_flag_wins_then_the_variable_then_the_file_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flag, named = tmp_path / "flag", tmp_path / "named"
    flag.write_text("from-flag\n")
    named.write_text("from-file-variable\n")
    monkeypatch.setenv(SECRET_FILE_ENV, str(named))
    assert webhook_secret(None) == "from-file-variable"
    monkeypatch.setenv(SECRET_ENV, "from-variable")
    assert webhook_secret(None) == "from-variable"
    assert webhook_secret(flag) == "from-flag"


def test_no_secret_says_where_to_put_one() -> None:
    with pytest.raises(OrchestratorError, match=f"--secret-file.*{SECRET_ENV}"):
        webhook_secret(None)


def test_an_empty_secret_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(OrchestratorError, match="is empty"):
        webhook_secret(empty)


def test_only_http_agents_are_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "s")
    result = CliRunner().invoke(main, ["reconcile", "staging", "--agent", "file:///etc/passwd"])
    assert result.exit_code == 2
    assert "not an http:// or https:// URL" in result.output
