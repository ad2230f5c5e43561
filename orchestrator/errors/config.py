"""Settings or policy that cannot be used as written."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.errors.base import OrchestratorError


class ConfigError(OrchestratorError):
    """Settings or policy that cannot be used as written."""


class SettingsError(ConfigError):
    """The agent's own settings are invalid; it refuses to start."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in self.problems))


class PolicyError(ConfigError):
    """The promotion policy file on a branch is invalid."""

    def __init__(self, path: str, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        detail = "; ".join(self.problems)
        super().__init__(f"{path}: invalid policy: {detail}")


class ObjectsNotAllowed(ConfigError):
    """Objects outside the environment's allowance (namespaces, kinds, scope); nothing applied."""

    def __init__(self, refusals: Sequence[str]) -> None:
        self.refusals = list(refusals)
        lines = "\n".join(f"  {r}" for r in self.refusals)
        super().__init__(
            f"{len(self.refusals)} object(s) outside this environment's allowance:\n{lines}"
        )


class PublicationRefused(ConfigError):
    """Files an agent would refuse; nothing was pushed. `problems` lists each, once."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"not published: {len(self.problems)} problem(s):\n{lines}")
