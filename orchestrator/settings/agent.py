"""Where the agent's repository and cluster are, who it is, and what it serves.

Groups: git, cluster, agent, leader, server.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    SecretStr,
    field_validator,
)

from orchestrator.gitbus.protocol import check_env
from orchestrator.settings._group import Group, read_secret


class GitSettings(Group):
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
        return read_secret(self.token, self.token_file)

    def passphrase_value(self) -> str | None:
        return read_secret(None, self.ssh_key_passphrase_file)


class ClusterSettings(Group):
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


class AgentSettings(Group):
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


class LeaderSettings(Group):
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


class ServerSettings(Group):
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
