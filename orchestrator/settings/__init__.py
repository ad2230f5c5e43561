"""The agent's own settings: where its Git repository and cluster are, who it is.

Sources, strongest first: environment variables (`ORCHESTRATOR_<GROUP>__<FIELD>`, for
example `ORCHESTRATOR_GIT__URL`), then an optional YAML file (`--config`, or
`ORCHESTRATOR_CONFIG`). Secrets are never settings values in a file: they are read
from files (`*_file` fields), which is how Kubernetes mounts Secrets, or from
environment variables. What the platform team decides per environment (promotion
targets, gates, allowed kinds) is not here but in the policy file on the branch.

`docs/configuration.md` is generated from these models (`orchestrator config-reference`).
"""

from orchestrator.settings.agent import (
    AgentSettings,
    ClusterSettings,
    GitSettings,
    LeaderSettings,
    ServerSettings,
)
from orchestrator.settings.forge import ForgeSettings
from orchestrator.settings.load import CONFIG_FILE_ENV, ENV_PREFIX, Settings, load_settings
from orchestrator.settings.trust import (
    CeilingSettings,
    NotificationSettings,
    ReportSettings,
    TrustSettings,
)

__all__ = [
    "CONFIG_FILE_ENV",
    "ENV_PREFIX",
    "AgentSettings",
    "CeilingSettings",
    "ClusterSettings",
    "ForgeSettings",
    "GitSettings",
    "LeaderSettings",
    "NotificationSettings",
    "ReportSettings",
    "ServerSettings",
    "Settings",
    "TrustSettings",
    "load_settings",
]
