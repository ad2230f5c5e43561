"""Settings to the report stage: which Events, notifications and traces an agent sends."""

from __future__ import annotations

import logging

from orchestrator.errors import OrchestratorError
from orchestrator.forge import connect
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import NoteEntry
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.kube.client import KubeClient
from orchestrator.kube.inventory import inventory_name
from orchestrator.promote.revision.source import environment_policy_at
from orchestrator.record import Entry
from orchestrator.report import Reporter, Route, Sender
from orchestrator.report.forge_gates import ForgeGates
from orchestrator.report.tracing import Tracing, otlp_tracing
from orchestrator.settings import Settings
from orchestrator.web.metrics import Metrics
from orchestrator.wiring import open_repo

log = logging.getLogger("orchestrator.report")


def build_reporter(
    settings: Settings, *, kube: KubeClient, repo: CacheRepo, metrics: Metrics
) -> Reporter:
    """The reporter of a delivering agent, not started yet (its sender and forge mirror)."""
    report = settings.report
    routes = [
        Route(
            name=target.name,
            url=target.url_value(),
            format=target.format,
            secret=target.secret_value(),
            environments=frozenset(target.environments),
            phases=frozenset(target.phases),
        )
        for target in report.notifications
    ]
    sender = (
        Sender(
            max_attempts=report.notification_attempts,
            timeout=report.notification_timeout_seconds,
            observe=metrics.count_notification,
        )
        if routes
        else None
    )
    return Reporter(
        namespace=settings.cluster.namespace,
        regarding=inventory_name(settings.agent.environment),
        reporting_instance=settings.agent.identity,
        events=kube if report.events else None,
        routes=routes,
        sender=sender,
        forge=build_forge_gates(settings, repo=repo),
    )


def build_tracing(settings: Settings) -> Tracing:
    """Traces to the configured collector; none without one."""
    endpoint = settings.report.traces_endpoint
    if not endpoint:
        return Tracing()
    return otlp_tracing(endpoint, service="orchestrator", environment=settings.agent.environment)


def build_forge_gates(settings: Settings, *, repo: CacheRepo) -> ForgeGates | None:
    """The forge mirror of a delivering agent (not started yet); none without a forge.

    `repo` is the agent's own clone: the record hook runs on the agent's thread, so
    reading the promoted revision's policy there (auto-merge) is safe.
    """
    forge = settings.forge
    if not forge.enabled or forge.token_file is None:
        return None
    env = settings.agent.environment

    def auto_merge(entry: Entry) -> bool:
        try:
            policy = environment_policy_at(repo, entry.revision, environment=env)
        except OrchestratorError as exc:
            log.warning("forge: cannot read the policy of %s: %s", entry.revision[:12], exc)
            return False
        return policy.promotion.auto_merge

    return ForgeGates(
        forge=connect(
            kind=forge.kind,
            api_url=forge.api_url,
            repository=forge.repository,
            token_file=forge.token_file,
        ),
        pipeline_url=forge.pipeline_url,
        retry_initial=forge.retry_initial_seconds,
        retry_max=forge.retry_max_seconds,
        auto_merge=auto_merge,
        history=BusHistory(settings),
    )


# How many of the latest noted commits a restarted agent mirrors again.
RECENT_COMMITS = 20


class BusHistory:
    """The forge mirror's view of the bus after a restart, through a clone of its own
    (the mirror's worker thread must not share the agent's)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = settings.agent.environment
        self._repo: CacheRepo | None = None

    def _clone(self) -> CacheRepo:
        if self._repo is None:
            self._repo = open_repo(self.settings, purpose="forge")
        return self._repo

    def entries(self) -> list[NoteEntry]:
        repo = self._clone()
        repo.refresh(protocol.notes_ref(self.env))
        documents = [doc for doc in repo.list_notes(env=self.env).values() if doc.entries]
        documents.sort(key=lambda doc: doc.entries[-1].at)
        return [entry for doc in documents[-RECENT_COMMITS:] for entry in doc.entries]

    def awaits_merge(self, *, head: str, base: str, commit: str) -> bool:
        repo = self._clone()
        if repo.refresh(protocol.BRANCH_PREFIX + head) != commit:
            return False  # moved on (a newer promotion's entry covers it) or deleted
        base_tip = repo.refresh(protocol.env_branch(base))
        return base_tip is not None and not repo.is_ancestor(commit, base_tip)
