"""One environment's pipeline in this process, on a real bare repository and a real cluster.

For tests of what a single reconcile decides (rollback, drift, allowance): the
test chooses which revision is reconciled when, so nothing waits for polls.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from e2e.controlplane import Cluster
from orchestrator.agent.reconcile import Outcome, Pipeline
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.kube.client import KubeClient
from orchestrator.settings import Settings
from tests.support.workrepo import WorkRepo, git

ENV = "staging"
POLICY = ".orchestrator/policy.yaml"


def policy(environment: Mapping[str, Any]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "orchestrator.dev/v1alpha1",
            "kind": "PromotionPolicy",
            "environments": {ENV: dict(environment)},
        }
    )


def config_map(name: str, namespace: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def documents(*objects: Mapping[str, Any]) -> str:
    return yaml.safe_dump_all([dict(o) for o in objects])


class TrustEnv:
    """A bus with a `staging` branch, an agent namespace, an app namespace, one Pipeline."""

    def __init__(
        self,
        *,
        cluster: Cluster,
        root: Path,
        trust: Mapping[str, Any] | None = None,
        **agent: Any,
    ) -> None:
        self.uid = uuid.uuid4().hex[:8]
        self.kube = KubeClient.from_kubeconfig(cluster.kubeconfig)
        self.agent_ns = f"agent-{self.uid}"
        self.app_ns = f"app-{self.uid}"
        for name in (self.agent_ns, self.app_ns):
            self.kube.apply(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                field_manager="test-admin",
            )
        (root / "bus").mkdir()
        self.bus = WorkRepo(root / "bus")
        self.settings = Settings.model_validate(
            {
                "git": {"url": str(self.bus.bare), "cache_dir": str(root / "cache")},
                "agent": {"environment": ENV, "identity": "staging-agent", **agent},
                "cluster": {"kubeconfig": str(cluster.kubeconfig), "namespace": self.agent_ns},
                "server": {"enabled": False},
                "trust": dict(trust or {}),
            }
        )
        self.repo = CacheRepo.open(root / "cache" / "agent", remote_url=str(self.bus.bare))
        self.pipeline = Pipeline(
            settings=self.settings, repo=self.repo, kube=self.kube, health_interval=0.2
        )

    def commit(self, files: Mapping[str, str | None], *, message: str, branch: str = ENV) -> str:
        return self.bus.commit(branch, files, message=message)

    def reconcile(self, revision: str) -> Outcome:
        self.repo.poll([f"refs/heads/{ENV}"])
        return self.pipeline.reconcile(revision)

    def note(self, revision: str) -> list[dict[str, Any]]:
        try:
            text = git(
                "notes", f"--ref=refs/notes/orchestrator/{ENV}", "show", revision, cwd=self.bus.bare
            )
        except AssertionError:
            return []
        entries: list[dict[str, Any]] = json.loads(text)["entries"]
        return entries

    def phases(self, revision: str) -> list[str]:
        return [e["phase"] for e in self.note(revision)]

    def get(self, kind: str, name: str, *, api_version: str = "v1") -> dict[str, Any] | None:
        return self.kube.get(api_version=api_version, kind=kind, name=name, namespace=self.app_ns)

    def everything_in_git(self) -> str:
        """Every commit, file and note of the bus, as text."""
        return git("log", "--all", "-p", "--format=%H%n%B", cwd=self.bus.bare)

    def close(self) -> None:
        for name in (self.app_ns, self.agent_ns):
            self.kube.delete(api_version="v1", kind="Namespace", name=name)
        self.kube.close()


def forms(value: str) -> list[str]:
    """A secret value as it may appear: raw and as the API's base64."""
    return [value, base64.b64encode(value.encode()).decode()]


class LogText(logging.Handler):
    """Everything logged while installed, formatted, with exception text."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def capture_logs() -> Iterator[LogText]:
    handler = LogText()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
