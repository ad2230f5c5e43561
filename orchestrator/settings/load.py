"""The whole of an agent's settings, and reading them with one line per problem."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from orchestrator.errors import SettingsError
from orchestrator.settings._group import read_secret
from orchestrator.settings.agent import (
    AgentSettings,
    ClusterSettings,
    GitSettings,
    LeaderSettings,
    ServerSettings,
)
from orchestrator.settings.forge import ForgeSettings
from orchestrator.settings.trust import ReportSettings, TrustSettings

ENV_PREFIX = "ORCHESTRATOR_"
CONFIG_FILE_ENV = "ORCHESTRATOR_CONFIG"


class Settings(BaseSettings):
    """Everything an agent needs before it reads its policy from Git."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        nested_model_default_partial_update=True,
    )

    git: GitSettings
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    agent: AgentSettings
    leader: LeaderSettings = Field(default_factory=LeaderSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    trust: TrustSettings = Field(default_factory=TrustSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    forge: ForgeSettings = Field(default_factory=ForgeSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = settings_cls.model_config.get("yaml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if yaml_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
        return tuple(sources)

    # -- secrets, resolved at use --------------------------------------------------

    def webhook_secret(self) -> str | None:
        return read_secret(self.server.webhook_secret, self.server.webhook_secret_file)

    def lease_name(self) -> str:
        return self.leader.lease_name or f"orchestrator-{self.agent.environment}"


def _env_name(loc: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + "__".join(str(part).upper() for part in loc)


def _problems(exc: ValidationError) -> list[str]:
    """One line per problem, each naming the setting and its environment variable."""
    problems = []
    for err in exc.errors():
        locs = [tuple(err["loc"])]
        group = Settings.model_fields.get(str(locs[0][0])) if len(locs[0]) == 1 else None
        model = group.annotation if group is not None else None
        if err["type"] == "missing" and isinstance(model, type) and issubclass(model, BaseModel):
            # A whole group missing: name its required fields, which is what to set.
            locs = [(locs[0][0], name) for name, f in model.model_fields.items() if f.is_required()]
        for loc in locs:
            where = ".".join(str(p) for p in loc)
            problems.append(f"{where} ({_env_name(loc)}): {err['msg']}")
    return problems


def load_settings(
    *,
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    check_files: bool = True,
) -> Settings:
    """Read settings; every problem becomes one line of a SettingsError.

    check_files=False skips the check that the files the settings name exist,
    for `validate`, which reads an agent's settings away from its mounted Secrets.
    """
    config_file = config_file or (
        Path(os.environ[CONFIG_FILE_ENV]) if os.environ.get(CONFIG_FILE_ENV) else None
    )
    cls: type[Settings] = Settings
    if config_file is not None:
        if not config_file.is_file():
            raise SettingsError([f"settings file {config_file} does not exist"])
        cls = type(
            "Settings",
            (Settings,),
            {"model_config": {**Settings.model_config, "yaml_file": config_file}},
        )
    try:
        settings = cls(**(overrides or {}))
    except ValidationError as exc:
        raise SettingsError(_problems(exc)) from None
    if not check_files:
        return settings
    problems = []
    for name, path in (
        ("git.ssh_key_file", settings.git.ssh_key_file),
        ("git.ssh_key_passphrase_file", settings.git.ssh_key_passphrase_file),
        ("git.token_file", settings.git.token_file),
        ("git.known_hosts_file", settings.git.known_hosts_file),
        ("git.signing_key_file", settings.git.signing_key_file),
        ("cluster.kubeconfig", settings.cluster.kubeconfig),
        ("server.webhook_secret_file", settings.server.webhook_secret_file),
        ("forge.token_file", settings.forge.token_file),
        ("trust.allowed_signers_file", settings.trust.allowed_signers_file),
        ("trust.gpg_public_keys_file", settings.trust.gpg_public_keys_file),
        *(
            (f"report.notifications.{i}.{name}", path)
            for i, target in enumerate(settings.report.notifications)
            for name, path in (("url_file", target.url_file), ("secret_file", target.secret_file))
        ),
    ):
        if path is not None and not path.is_file():
            problems.append(f"{name}: file {path} does not exist")
    if problems:
        raise SettingsError(problems)
    return settings
