"""The CLI reads Git credentials exactly as an agent's settings do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.cli.common import cli_auth
from orchestrator.errors import SettingsError
from orchestrator.gitbus.auth import HttpsAuth, SshAuth


@pytest.fixture(autouse=True)
def _no_git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("ORCHESTRATOR_GIT__")]:
        monkeypatch.delenv(key)


def test_ssh_key_known_hosts_and_passphrase_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pass").write_text("open sesame\n")
    monkeypatch.setenv("ORCHESTRATOR_GIT__SSH_KEY_FILE", str(tmp_path / "id"))
    monkeypatch.setenv("ORCHESTRATOR_GIT__SSH_KEY_PASSPHRASE_FILE", str(tmp_path / "pass"))
    monkeypatch.setenv("ORCHESTRATOR_GIT__KNOWN_HOSTS_FILE", str(tmp_path / "known_hosts"))
    auth = cli_auth("ssh://git@example.com/repo.git")
    assert isinstance(auth, SshAuth)
    assert auth.known_hosts == tmp_path / "known_hosts"
    assert auth.check_host_key
    assert auth.passphrase is not None
    assert auth.passphrase.reveal() == "open sesame"


def test_token_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("t0ken\n")
    monkeypatch.setenv("ORCHESTRATOR_GIT__TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("ORCHESTRATOR_GIT__USERNAME", "bot")
    auth = cli_auth("https://example.com/repo.git")
    assert isinstance(auth, HttpsAuth)
    assert auth.username == "bot"
    assert auth.token.reveal() == "t0ken"


def test_anonymous_without_credentials_and_a_clear_error_for_bad_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cli_auth("/srv/repo.git") is None
    monkeypatch.setenv("ORCHESTRATOR_GIT__INSECURE_SKIP_HOST_KEY_CHECK", "perhaps")
    with pytest.raises(SettingsError, match="ORCHESTRATOR_GIT__INSECURE_SKIP_HOST_KEY_CHECK"):
        cli_auth("/srv/repo.git")
