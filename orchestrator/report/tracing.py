"""OpenTelemetry traces of reconciles: one trace per reconcile, one span per stage.

Optional twice over: the packages come with the `otel` extra
(`pip install 'orchestrator[otel]'`, the image has them), and nothing is traced unless
`report.traces_endpoint` names an OTLP/HTTP collector. Without both, `span()` costs a
`nullcontext`. Spans carry the environment, revision and delivery as attributes, and
a failed stage's reason as the span's error status; never object contents.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from orchestrator.errors import SettingsError

_INSTRUMENTATION = "orchestrator"
_P = ParamSpec("_P")
_R = TypeVar("_R")


class Tracing:
    """Where spans go; `Tracing()` traces nothing."""

    def __init__(self, tracer: Any = None, provider: Any = None) -> None:
        self._tracer = tracer
        self._provider = provider

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    @contextlib.contextmanager
    def span(self, name: str, **attributes: str) -> Iterator[None]:
        """A span around the block; an exception marks it failed and propagates."""
        if self._tracer is None:
            yield
            return
        with self._tracer.start_as_current_span(name, attributes=attributes):
            yield

    def shutdown(self) -> None:
        """Flush spans still buffered (at agent exit)."""
        if self._provider is not None:
            self._provider.shutdown()


def otlp_tracing(endpoint: str, *, service: str, environment: str) -> Tracing:
    """Batches spans to `<endpoint>/v1/traces` (OTLP over HTTP, protobuf)."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415
    except ImportError:
        raise SettingsError(
            [
                "report.traces_endpoint (ORCHESTRATOR_REPORT__TRACES_ENDPOINT): tracing needs "
                "the otel extra: pip install 'orchestrator[otel]'"
            ]
        ) from None
    resource = Resource.create(
        {"service.name": service, "deployment.environment.name": environment}
    )
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1000))
    return Tracing(provider.get_tracer(_INSTRUMENTATION), provider)


class Traced(Protocol):
    """What `traced` needs of the object whose methods it wraps."""

    tracing: Tracing
    env: str


_S = TypeVar("_S", bound=Traced)


def traced(
    name: str,
) -> Callable[[Callable[Concatenate[_S, str, _P], _R]], Callable[Concatenate[_S, str, _P], _R]]:
    """A span named `name` around a method whose first argument is the revision."""

    def wrap(
        method: Callable[Concatenate[_S, str, _P], _R],
    ) -> Callable[Concatenate[_S, str, _P], _R]:
        @functools.wraps(method)
        def run(self: _S, revision: str, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            with self.tracing.span(name, environment=self.env, revision=revision):
                return method(self, revision, *args, **kwargs)

        return run

    return wrap
