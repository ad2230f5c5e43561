"""Waiting for a revision's verification runs: create them, look until all passed."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from orchestrator.errors import (
    ClusterUnreachable,
    HealthWaitCancelled,
    VerificationFailed,
)
from orchestrator.health.pacing import Cancel, Clock, Pacer, Sleep
from orchestrator.health.reader import ClusterAccess
from orchestrator.health.run_template import RunTemplate
from orchestrator.health.runs.objects import ensure_run, find_runs, reads_secrets
from orchestrator.health.runs.verdict import RunOutcome, RunResult, prune_runs, run_result
from orchestrator.manifests.params import Parameters

RunsProgress = Callable[[Sequence[RunResult]], None]


@dataclasses.dataclass(frozen=True)
class _Revision:
    """The runs of one revision: looking at them creates the missing ones."""

    access: ClusterAccess
    environment: str
    revision: str
    delivery: str
    params: Parameters | Mapping[str, Any] | None
    field_manager: str

    def look(self, template: RunTemplate, previous: RunResult | None) -> RunResult:
        """The template's run result now; an unreadable cluster keeps it pending."""
        try:
            runs = find_runs(
                self.access, template, environment=self.environment, revision=self.revision
            )
            if not runs:  # not created yet, or deleted to run it again
                runs = [self._create(template)]
        except ClusterUnreachable as exc:
            base = previous or RunResult(
                template.name, RunOutcome.PENDING, "", revision=self.revision
            )
            return dataclasses.replace(
                base, outcome=RunOutcome.PENDING, message=f"cannot be read: {exc}", outputs={}
            )
        result = run_result(template, runs, revision=self.revision)
        return result.withheld() if reads_secrets(template) else result

    def _create(self, template: RunTemplate) -> dict[str, Any]:
        return ensure_run(
            self.access,
            template,
            environment=self.environment,
            revision=self.revision,
            delivery=self.delivery,
            params=self.params,
            field_manager=self.field_manager,
        )

    def prune(self, template: RunTemplate) -> None:
        prune_runs(self.access, template, environment=self.environment, revision=self.revision)


def _settle(
    templates: Sequence[RunTemplate], current: Sequence[RunResult], *, elapsed: float
) -> list[tuple[RunTemplate, RunResult]]:
    """The runs still pending; VerificationFailed if one failed or one is late."""
    failed = [r for r in current if r.outcome is RunOutcome.FAILED]
    if failed:
        raise VerificationFailed(
            "; ".join(str(r) for r in failed),
            refs=[r.ref for r in failed],
            records=[r.as_record() for r in current],
        )
    pending = [
        (t, r) for t, r in zip(templates, current, strict=True) if r.outcome is RunOutcome.PENDING
    ]
    late = [(t, r) for t, r in pending if elapsed >= t.timeout_seconds]
    if late:
        raise VerificationFailed(
            "; ".join(
                f"run {t.name}{f' ({r.ref})' if r.run_name else ''} did not finish within "
                f"{t.timeout_seconds:g}s: {r.message}"
                for t, r in late
            ),
            refs=[r.ref for _, r in late],
            records=[r.as_record() for r in current],
        )
    return pending


def wait_for_runs(
    access: ClusterAccess,
    templates: Sequence[RunTemplate],
    *,
    environment: str,
    revision: str,
    delivery: str,
    params: Parameters | Mapping[str, Any] | None = None,
    field_manager: str,
    interval: float = 2.0,
    cancel: Cancel | None = None,
    progress: RunsProgress | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep | None = None,
) -> list[RunResult]:
    """Create every template's run for the revision, then wait until all passed.

    Fails fast: the first failed run raises VerificationFailed (the others keep
    running in the cluster, harmlessly); so does a run still pending after its
    template's `timeoutSeconds`. The exception's `records` hold every run's
    result for the note. Cancelling raises HealthWaitCancelled.
    """
    if interval <= 0:
        raise ValueError(f"the polling interval must be positive (got {interval})")
    pacer = Pacer(cancel=cancel, clock=clock, sleep=sleep)
    start = clock()
    runs = _Revision(access, environment, revision, delivery, params, field_manager)
    results: list[RunResult | None] = [None] * len(templates)
    pruned: set[str] = set()
    while True:
        if pacer.cancelled():
            raise HealthWaitCancelled(
                f"stopped waiting for verification runs after {clock() - start:.1f}s: cancelled"
            )
        current = [runs.look(t, results[i]) for i, t in enumerate(templates)]
        results = list(current)
        if progress is not None:
            progress(current)
        for template, result in zip(templates, current, strict=True):
            if result.outcome is not RunOutcome.PENDING and template.name not in pruned:
                pruned.add(template.name)
                runs.prune(template)
        elapsed = clock() - start
        pending = _settle(templates, current, elapsed=elapsed)
        if not pending:
            return current
        pacer.pause(min(interval, *(t.timeout_seconds - elapsed for t, _ in pending)))
