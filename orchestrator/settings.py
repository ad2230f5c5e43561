"""The agent's own settings: where its Git repository and cluster are, who it is.

Sources, strongest first: environment variables (`ORCHESTRATOR_<GROUP>__<FIELD>`, for
example `ORCHESTRATOR_GIT__URL`), then an optional YAML file (`--config`, or
`ORCHESTRATOR_CONFIG`). Secrets are never settings values in a file: they are read
from files (`*_file` fields), which is how Kubernetes mounts Secrets, or from
environment variables. What the platform team decides per environment (promotion
targets, gates, allowed kinds) is not here but in the policy file on the branch.

`docs/configuration.md` is generated from these models (`orchestrator config-reference`).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from orchestrator.errors import SettingsError
from orchestrator.gitbus.protocol import check_env

ENV_PREFIX = "ORCHESTRATOR_"
CONFIG_FILE_ENV = "ORCHESTRATOR_CONFIG"


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GitSettings(_Group):
    """The shared repository: the bus between agents."""

    url: str = Field(
        description="Remote URL: a path, file://, git://, ssh://, user@host:path or https://."
    )
    cache_dir: Path = Field(
        default=Path("/var/cache/orchestrator/git"),
        description="Local cache clone (bare). Safe to delete; it is rebuilt from the remote.",
    )
    poll_interval_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How often the branch tips are listed (objects are "
        "fetched only when a watched ref moved).",
    )
    ssh_key_file: Path | None = Field(default=None, description="Private key for ssh:// remotes.")
    ssh_key_passphrase_file: Path | None = Field(
        default=None, description="File holding the private key's passphrase."
    )
    known_hosts_file: Path | None = Field(
        default=None,
        description="known_hosts used to check the server's host key (default ~/.ssh/known_hosts).",
    )
    insecure_skip_host_key_check: bool = Field(
        default=False, description="Accept any SSH host key. Only for throwaway setups."
    )
    username: str = Field(default="git", description="User for ssh:// and https:// remotes.")
    token: SecretStr | None = Field(default=None, description="HTTPS token or password.")
    token_file: Path | None = Field(default=None, description="File holding the HTTPS token.")
    author_name: str = Field(default="orchestrator", description="Author of commits and notes.")
    author_email: str = Field(default="orchestrator@localhost", description="Author e-mail.")
    signing_key_file: Path | None = Field(
        default=None, description="SSH private key that signs promotion commits (optional)."
    )

    def token_value(self) -> str | None:
        return _secret(self.token, self.token_file)

    def passphrase_value(self) -> str | None:
        return _secret(None, self.ssh_key_passphrase_file)


class ClusterSettings(_Group):
    """The cluster this agent delivers to."""

    kubeconfig: Path | None = Field(
        default=None,
        description="Kubeconfig file. Unset: $KUBECONFIG, else in-cluster (the pod's "
        "ServiceAccount), else ~/.kube/config.",
    )
    context: str | None = Field(
        default=None, description="Kubeconfig context (unset: the kubeconfig's current context)."
    )
    namespace: str = Field(
        default="orchestrator-system",
        description="The agent's own namespace: inventory, leader Lease and events live here.",
    )


class AgentSettings(_Group):
    """Which environment this agent serves, and how often it re-checks."""

    environment: str = Field(
        description="The environment (and branch) this agent delivers, e.g. staging."
    )
    role: Literal["deliver", "build"] = Field(
        default="deliver",
        description="deliver: apply the environment branch; build: publish rendered config "
        "to the first environment.",
    )
    identity: str = Field(
        default_factory=lambda: f"orchestrator@{socket.gethostname()}",
        description="Written as Verified-By on promotions and into notes.",
    )
    publish_to: str = Field(
        default="",
        description="build role: the first environment, whose candidate branches "
        "(pr/<env>/<feature>) receive rendered configuration.",
    )
    drift_interval_seconds: float = Field(
        default=300.0, gt=0, description="Re-apply the current revision this often (self-heal)."
    )
    stage_deadline_seconds: float = Field(
        default=600.0,
        gt=0,
        description="The longest one reconcile stage may run (beyond its own timeout: "
        "health, soak, verification runs); past it /healthz fails, so the pod is restarted "
        "and a standby takes over, and the revision is noted Failed.",
    )
    drift_retries: int = Field(
        default=2,
        ge=0,
        description="A drift run of a revision verified here that fails (apply, prune, health, "
        "verification) is tried this many more times before it counts as failed and rolls back.",
    )
    drift_retry_seconds: float = Field(
        default=10.0, gt=0, description="Pause before each of those retries."
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Parameters for $(params.<name>)$ placeholders; override the repository's "
        "per-environment parameter file.",
    )

    @field_validator("environment")
    @classmethod
    def _valid_environment(cls, value: str) -> str:
        return check_env(value)


class LeaderSettings(_Group):
    """Leader election, so that several replicas of one agent are safe."""

    enabled: bool = Field(default=False, description="Elect a leader through a Lease.")
    lease_name: str = Field(default="", description="Lease name (default orchestrator-<env>).")
    lease_duration_seconds: float = Field(
        default=15.0, gt=0, description="A leader that stops renewing loses the lease after this."
    )
    renew_interval_seconds: float = Field(default=5.0, gt=0, description="How often to renew.")
    renew_deadline_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A leader that could not renew for this long stops reconciling. Must be "
        "shorter than lease_duration_seconds, so it stops before another replica may take over.",
    )
    retry_period_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often a standby tries to acquire the Lease, and a leader retries a "
        "failed renewal.",
    )
    identity: str = Field(
        default="",
        description="Holder identity written into the Lease. Unset: a new one per process "
        "(the random suffix keeps a restarted container or two agents on one host apart).",
    )


class ServerSettings(_Group):
    """The HTTP server: probes, metrics, the push webhook and the pipeline page."""

    enabled: bool = Field(default=True, description="Serve HTTP at all.")
    bind_address: str = Field(
        default="127.0.0.1", description="Address to listen on (0.0.0.0 inside a pod)."
    )
    port: int = Field(default=8080, ge=0, le=65535, description="Port (0 picks a free one).")
    webhook_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Serve the triggers (/hooks/git, /reconcile) on this port alone, so an "
        "Ingress can expose them while probes, metrics and the page stay internal (unset: "
        "everything on `port`).",
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC secret of /hooks/git (unset: webhook disabled)."
    )
    webhook_secret_file: Path | None = Field(
        default=None, description="File holding the webhook secret."
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        description="Largest request body accepted (a push payload); larger requests get 413.",
    )
    request_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A client that sends nothing for this long is disconnected.",
    )


class NotificationSettings(_Group):
    """A notification target: each phase change of a revision (each note entry) is posted."""

    name: str = Field(description="Name in logs and metrics (the URL is never logged).")
    format: Literal["generic", "slack", "cloudevents"] = Field(
        default="generic",
        description="generic JSON, a Slack-compatible incoming webhook, or a CloudEvent.",
    )
    url: SecretStr | None = Field(
        default=None, description="Where to POST (a Slack webhook URL is a secret: see url_file)."
    )
    url_file: Path | None = Field(default=None, description="File holding the URL.")
    secret_file: Path | None = Field(
        default=None,
        description="HMAC-SHA256 key file; signs the body in X-Orchestrator-Signature.",
    )
    environments: list[str] = Field(
        default_factory=list, description="Only these environments' changes (empty: all)."
    )
    phases: list[str] = Field(
        default_factory=list, description="Only these phases, e.g. [Failed, Promoted] (empty: all)."
    )

    @model_validator(mode="after")
    def _has_url(self) -> NotificationSettings:
        if self.url is None and self.url_file is None:
            raise ValueError(f"notification {self.name!r}: set url or url_file")
        return self

    def url_value(self) -> str:
        value = _secret(self.url, self.url_file)
        if not value:
            raise SettingsError([f"notification {self.name!r}: set url or url_file"])
        return value

    def secret_value(self) -> str | None:
        return _secret(None, self.secret_file)


class ReportSettings(_Group):
    """Reports besides the git note: Kubernetes Events and notifications."""

    events: bool = Field(
        default=True,
        description="Write a Kubernetes Event for each phase change, about the environment's "
        "inventory Secret in the agent's namespace.",
    )
    notifications: list[NotificationSettings] = Field(
        default_factory=list,
        description="Notification targets (in the environment: a JSON list). Each entry's "
        "fields are in the table below.",
    )
    notification_attempts: int = Field(
        default=5, ge=1, description="Attempts per notification (backoff 1 s, 2 s, 4 s, ...)."
    )
    notification_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Timeout of one notification request."
    )
    traces_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP collector (e.g. http://otel-collector:4318): one trace per "
        "reconcile, a span per stage. Needs the otel extra (the image has it).",
    )


class CeilingSettings(_Group):
    """The most any policy on the branch may allow; the policy can only narrow it."""

    namespaces: list[str] | None = Field(
        default=None,
        description="Namespace glob patterns objects may be applied to (unset: any). A "
        "policy's allow.namespaces must stay within these.",
    )
    kinds: list[str] | None = Field(
        default=None,
        description="Kinds that may be applied, spelled as the policy's allow.kinds "
        "(Kind or group/Kind; unset: any).",
    )
    cluster_scoped: bool = Field(
        default=False,
        description="Whether cluster-scoped objects (Namespaces, CRDs, ClusterRoles, ...) may "
        "be applied at all; a policy asking for allow.clusterScoped without it is refused.",
    )
    secret_reads: bool = Field(
        default=False,
        description="Whether verification-run selectors may read Secrets.",
    )


class TrustSettings(_Group):
    """The root of trust: who may sign what this agent applies, and how much it reads.

    These come from the cluster (a mounted Secret or ConfigMap), never from the
    repository, so a person who can only push cannot change them (docs/security.md).
    """

    allowed_signers_file: Path | None = Field(
        default=None,
        description="SSH allowed-signers file (git's gpg.ssh.allowedSignersFile format). "
        "With this or gpg_public_keys_file set, every revision must be signed by one of "
        "these keys before any of it is read.",
    )
    gpg_public_keys_file: Path | None = Field(
        default=None,
        description="Armored GPG public keys whose signatures are trusted (as Flux's verify).",
    )
    ceiling: CeilingSettings = Field(default_factory=CeilingSettings)
    max_file_bytes: int = Field(
        default=4 * 1024 * 1024,
        gt=0,
        description="Largest file read from a revision (its size is read from the object "
        "header before it is inflated); larger files fail the revision.",
    )
    max_revision_bytes: int = Field(
        default=64 * 1024 * 1024,
        gt=0,
        description="Most bytes read from one revision, all files together.",
    )

    @property
    def signatures_required(self) -> bool:
        """Whether the cluster names any trusted key at all."""
        return self.allowed_signers_file is not None or self.gpg_public_keys_file is not None


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
        return _secret(self.server.webhook_secret, self.server.webhook_secret_file)

    def lease_name(self) -> str:
        return self.leader.lease_name or f"orchestrator-{self.agent.environment}"


def _secret(value: SecretStr | None, path: Path | None) -> str | None:
    if value is not None:
        return value.get_secret_value()
    if path is not None:
        return path.read_text().strip()
    return None


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
