"""Spans around reconcile stages, exported through the real OpenTelemetry SDK."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from orchestrator.report.tracing import Tracing, traced


class _Pipeline:
    def __init__(self, tracing: Tracing) -> None:
        self.tracing = tracing
        self.env = "staging"

    @traced("reconcile")
    def reconcile(self, revision: str) -> str:
        self.apply(revision, fail=False)
        self.apply(revision, fail=True)
        return "done"

    @traced("apply")
    def apply(self, revision: str, *, fail: bool) -> None:
        if fail:
            raise RuntimeError("ApplyFailed: Deployment/shop/web: forbidden")


def test_stages_are_child_spans_and_a_failure_marks_its_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    pipeline = _Pipeline(Tracing(provider.get_tracer("test"), provider))
    with pytest.raises(RuntimeError):
        pipeline.reconcile("ab" * 20)
    spans = {(s.name, s.status.status_code) for s in exporter.get_finished_spans()}
    assert spans == {
        ("apply", StatusCode.UNSET),
        ("apply", StatusCode.ERROR),
        ("reconcile", StatusCode.ERROR),
    }
    root = next(s for s in exporter.get_finished_spans() if s.name == "reconcile")
    assert root.attributes == {"environment": "staging", "revision": "ab" * 20}
    assert all(
        s.parent is not None and s.parent.span_id == root.context.span_id
        for s in exporter.get_finished_spans()
        if s.name == "apply"
    )


def test_without_a_collector_nothing_is_traced() -> None:
    pipeline = _Pipeline(Tracing())
    assert not pipeline.tracing.enabled
    with pytest.raises(RuntimeError):
        pipeline.reconcile("ab" * 20)
