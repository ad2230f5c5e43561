"""Verification runs: Cartographer's Runnable semantics for the policy's run templates.

A run is immutable: for each delivered revision a new object is created from the
template (never updated), so the cluster keeps the history of what verified
what. Runs are found again by labels, never by remembering names, so an agent
that restarts mid-wait picks up the run it already created:

    orchestrator.dev/run=<template>  orchestrator.dev/environment=<env>
    orchestrator.dev/revision=<first 40 characters of the revision>

(label values stop at 63 characters; a SHA-1 fits whole, a SHA-256 is cut, and
the `orchestrator.dev/revision` annotation carries it whole and is checked too).

- The outcome is read from the most recently created run of the revision:
  a `Succeeded` or `Complete` condition True passes; `Failed` (or a Job's
  `FailureTarget`) True, or `Succeeded` False, fails; anything else is pending.
  Deleting a run therefore re-runs verification: the next look creates a new one.
- Outputs are read from the declared field paths of the most recently created
  succeeded run of the revision; a passed run missing one fails, because a
  promotion must not record half of what the policy asked for.
- Finished runs of a template beyond `retention` are deleted, oldest first,
  never one of the revision being verified.
- "Most recently created" is `metadata.creationTimestamp`, then name: the API
  gives whole seconds, and the name keeps the order stable within one.
"""

from orchestrator.health.runs.objects import (
    ANNOTATION_DELIVERY,
    ANNOTATION_REVISION,
    LABEL_ENVIRONMENT,
    LABEL_REVISION,
    LABEL_RUN,
    ensure_run,
    find_runs,
    render_run,
    revision_label,
    run_labels,
    select,
)
from orchestrator.health.runs.verdict import (
    RunOutcome,
    RunResult,
    prune_runs,
    read_outputs,
    run_outcome,
    run_result,
    runs_to_prune,
)
from orchestrator.health.runs.wait import RunsProgress, wait_for_runs

__all__ = [
    "ANNOTATION_DELIVERY",
    "ANNOTATION_REVISION",
    "LABEL_ENVIRONMENT",
    "LABEL_REVISION",
    "LABEL_RUN",
    "RunOutcome",
    "RunResult",
    "RunsProgress",
    "ensure_run",
    "find_runs",
    "prune_runs",
    "read_outputs",
    "render_run",
    "revision_label",
    "run_labels",
    "run_outcome",
    "run_result",
    "runs_to_prune",
    "select",
    "wait_for_runs",
]
