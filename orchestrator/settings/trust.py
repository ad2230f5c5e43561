"""What the agent may apply and who it reports to: the trust and report groups."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    Field,
    SecretStr,
    model_validator,
)

from orchestrator.errors import SettingsError
from orchestrator.settings._group import Group, read_secret


class NotificationSettings(Group):
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
        value = read_secret(self.url, self.url_file)
        if not value:
            raise SettingsError([f"notification {self.name!r}: set url or url_file"])
        return value

    def secret_value(self) -> str | None:
        return read_secret(None, self.secret_file)


class ReportSettings(Group):
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


class CeilingSettings(Group):
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


class TrustSettings(Group):
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
