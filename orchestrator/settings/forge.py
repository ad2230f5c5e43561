"""Which forge shows the gates: where pull requests are opened and statuses posted.

Unset (`forge.kind` empty), the agent behaves as without a forge: it pushes the
promotion branch and the git note is the only record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from orchestrator.settings._group import Group


class ForgeSettings(Group):
    """The forge hosting the bus repository, and how hard to try when it is away."""

    kind: Literal["", "gitea", "forgejo", "github", "gitlab"] = Field(
        default="", description="The forge's API dialect (empty: no forge)."
    )
    api_url: str = Field(
        default="",
        description="API root: https://gitea.example/api/v1, https://api.github.com, "
        "https://gitlab.example/api/v4.",
    )
    repository: str = Field(
        default="", description="The bus repository on the forge: owner/name (GitLab: its path)."
    )
    token_file: Path | None = Field(
        default=None,
        description="File holding the forge token (a mounted Secret; read at each call, never "
        "logged). Scopes: see docs/forges.md.",
    )
    pipeline_url: str = Field(
        default="",
        description="The pipeline page people open from a status or a pull request (optional).",
    )
    preview: bool = Field(
        default=True,
        description="Preview each pr/<env>/* candidate for this environment: a server-side dry "
        "run, shown as the status orchestrator/<env>/preview and one pull request comment.",
    )
    retry_initial_seconds: float = Field(
        default=1.0, gt=0, description="First pause after the forge failed to answer."
    )
    retry_max_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Longest pause between attempts while the forge is away; the statuses "
        "and pull requests not yet mirrored are kept and caught up when it is back.",
    )

    @model_validator(mode="after")
    def _complete(self) -> ForgeSettings:
        if self.kind:
            missing = [
                name
                for name, value in (
                    ("api_url", self.api_url),
                    ("repository", self.repository),
                    ("token_file", self.token_file),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"forge {self.kind} needs {', '.join(missing)}")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.kind)
