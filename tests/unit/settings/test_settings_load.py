"""Settings: env over file, secrets from files, every problem named with its variable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.errors import SettingsError
from orchestrator.settings import load_settings

FIXTURE = Path(__file__).with_name("fixtures") / "staging.yaml"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("ORCHESTRATOR_"):
            monkeypatch.delenv(key)


def test_file_then_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS", "3")
    settings = load_settings(config_file=FIXTURE)
    assert settings.git.url.startswith("ssh://")
    assert settings.git.poll_interval_seconds == 3
    assert settings.agent.params == {"replicas": 2}
    assert settings.lease_name() == "orchestrator-staging"


def test_config_file_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_CONFIG", str(FIXTURE))
    assert load_settings().agent.environment == "staging"


def test_missing_required_settings_are_each_named() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.problems == [
        "git.url (ORCHESTRATOR_GIT__URL): Field required",
        "agent.environment (ORCHESTRATOR_AGENT__ENVIRONMENT): Field required",
    ]


def test_invalid_values_give_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_SERVER__PORT", "70000")
    monkeypatch.setenv("ORCHESTRATOR_AGENT__ENVIRONMENT", "prod/eu")
    monkeypatch.setenv("ORCHESTRATOR_GIT__URL", "/srv/repo.git")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    problems = caught.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("agent.environment (ORCHESTRATOR_AGENT__ENVIRONMENT)")
    assert problems[1].startswith("server.port (ORCHESTRATOR_SERVER__PORT)")


def test_secrets_come_from_files_and_are_not_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    monkeypatch.setenv("ORCHESTRATOR_GIT__TOKEN_FILE", str(token))
    monkeypatch.setenv("ORCHESTRATOR_SERVER__WEBHOOK_SECRET", "hook-secret")
    settings = load_settings(config_file=FIXTURE)
    assert settings.git.token_value() == "s3cret-token"
    assert settings.webhook_secret() == "hook-secret"
    assert "hook-secret" not in repr(settings)
    assert "s3cret" not in repr(settings)


def test_named_files_must_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_GIT__SSH_KEY_FILE", "/nonexistent/id_ed25519")
    with pytest.raises(
        SettingsError, match=r"git.ssh_key_file: file /nonexistent/id_ed25519 does not exist"
    ):
        load_settings(config_file=FIXTURE)


def test_unknown_keys_in_the_file_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(FIXTURE.read_text() + "agnet: {}\n")
    with pytest.raises(SettingsError, match="agnet"):
        load_settings(config_file=bad)


def test_trust_settings_come_from_nested_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    signers = tmp_path / "allowed_signers"
    signers.write_text("release@example.com ssh-ed25519 AAAA\n")
    monkeypatch.setenv("ORCHESTRATOR_TRUST__ALLOWED_SIGNERS_FILE", str(signers))
    monkeypatch.setenv("ORCHESTRATOR_TRUST__CEILING__NAMESPACES", '["shop", "team-*"]')
    monkeypatch.setenv("ORCHESTRATOR_TRUST__CEILING__CLUSTER_SCOPED", "true")
    settings = load_settings(config_file=FIXTURE)
    assert settings.trust.signatures_required
    assert settings.trust.ceiling.namespaces == ["shop", "team-*"]
    assert settings.trust.ceiling.kinds is None
    assert settings.trust.ceiling.cluster_scoped
    assert not settings.trust.ceiling.secret_reads
    assert settings.trust.max_file_bytes > 0


def test_trust_defaults_are_closed_where_it_matters() -> None:
    settings = load_settings(config_file=FIXTURE)
    assert not settings.trust.signatures_required
    assert not settings.trust.ceiling.cluster_scoped
    assert not settings.trust.ceiling.secret_reads


def test_a_missing_allowed_signers_file_stops_the_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_TRUST__ALLOWED_SIGNERS_FILE", "/nonexistent/signers")
    with pytest.raises(SettingsError) as caught:
        load_settings(config_file=FIXTURE)
    assert caught.value.problems == [
        "trust.allowed_signers_file: file /nonexistent/signers does not exist"
    ]


def test_no_forge_is_the_default_and_a_forge_needs_its_api_repository_and_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert not load_settings(config_file=FIXTURE, check_files=False).forge.enabled
    monkeypatch.setenv("ORCHESTRATOR_FORGE__KIND", "gitea")
    with pytest.raises(SettingsError) as raised:
        load_settings(config_file=FIXTURE, check_files=False)
    assert "forge gitea needs api_url, repository, token_file" in str(raised.value)
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    monkeypatch.setenv("ORCHESTRATOR_FORGE__API_URL", "https://gitea.example/api/v1")
    monkeypatch.setenv("ORCHESTRATOR_FORGE__REPOSITORY", "platform/bus")
    monkeypatch.setenv("ORCHESTRATOR_FORGE__TOKEN_FILE", str(token))
    forge = load_settings(config_file=FIXTURE, check_files=False).forge
    assert forge.enabled
    assert (forge.kind, forge.repository, forge.preview) == ("gitea", "platform/bus", True)
