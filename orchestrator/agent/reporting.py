"""Settings to the report stage: which Events, notifications and traces an agent sends."""

from __future__ import annotations

from orchestrator.kube.client import KubeClient
from orchestrator.kube.inventory import inventory_name
from orchestrator.report import Reporter, Route, Sender
from orchestrator.report.tracing import Tracing, otlp_tracing
from orchestrator.settings import Settings
from orchestrator.web.metrics import Metrics


def build_reporter(settings: Settings, *, kube: KubeClient, metrics: Metrics) -> Reporter:
    """The reporter of a delivering agent; its sender (if any) is not started yet."""
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
    )


def build_tracing(settings: Settings) -> Tracing:
    """Traces to the configured collector; none without one."""
    endpoint = settings.report.traces_endpoint
    if not endpoint:
        return Tracing()
    return otlp_tracing(endpoint, service="orchestrator", environment=settings.agent.environment)
