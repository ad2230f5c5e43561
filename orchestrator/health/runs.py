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

from __future__ import annotations

import copy
import dataclasses
import enum
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from orchestrator.errors import (
    ClusterUnreachable,
    HealthWaitCancelled,
    KubeError,
    VerificationFailed,
)
from orchestrator.health.fieldpath import FieldPath
from orchestrator.health.live import Condition, conditions
from orchestrator.health.pacing import Cancel, Clock, Pacer, Sleep
from orchestrator.health.reader import ClusterAccess, ClusterReader
from orchestrator.health.run_template import RunTemplate
from orchestrator.manifests.limits import Budget, Limits
from orchestrator.manifests.params import Parameters, substitute
from orchestrator.objectref import ObjectRef

__all__ = [
    "ANNOTATION_DELIVERY",
    "ANNOTATION_REVISION",
    "LABEL_ENVIRONMENT",
    "LABEL_REVISION",
    "LABEL_RUN",
    "RunOutcome",
    "RunResult",
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

log = logging.getLogger(__name__)

LABEL_RUN = "orchestrator.dev/run"
LABEL_ENVIRONMENT = "orchestrator.dev/environment"
LABEL_REVISION = "orchestrator.dev/revision"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
ANNOTATION_REVISION = "orchestrator.dev/revision"
ANNOTATION_DELIVERY = "orchestrator.dev/delivery"
MANAGER = "orchestrator"

REVISION_LABEL_CHARS = 40
WITHHELD = "withheld: the run reads a Secret"
_LABEL_VALUE = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")

RunsProgress = Callable[[Sequence["RunResult"]], None]


class RunOutcome(enum.Enum):
    PASSED = "Passed"
    FAILED = "Failed"
    PENDING = "Pending"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True, slots=True)
class RunResult:
    """What one template's run for one revision came to: plain data for the git note."""

    name: str
    outcome: RunOutcome
    message: str
    run_name: str = ""
    namespace: str = ""
    api_version: str = ""
    kind: str = ""
    revision: str = ""
    outputs: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def ref(self) -> ObjectRef:
        """The run object's ref (Kind/namespace/name)."""
        group = self.api_version.rpartition("/")[0]
        return ObjectRef(group=group, kind=self.kind, namespace=self.namespace, name=self.run_name)

    def as_record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": self.outcome.value,
            "message": self.message,
            "run": self.run_name,
            "namespace": self.namespace,
            "apiVersion": self.api_version,
            "kind": self.kind,
            "revision": self.revision,
            "outputs": copy.deepcopy(dict(self.outputs)),
        }

    def withheld(self) -> RunResult:
        """This result without anything the run could have copied from a Secret.

        A run whose selector reads a Secret may carry its data in any field, and
        so in its outputs and (through a controller or the API server) in its
        messages; the note and the log get the outcome and the object's name only.
        """
        return dataclasses.replace(
            self,
            message=f"{self.outcome} ({WITHHELD})",
            outputs=dict.fromkeys(self.outputs, WITHHELD),
        )

    def __str__(self) -> str:
        where = f" ({self.ref})" if self.run_name else ""
        return f"run {self.name}{where}: {self.outcome}: {self.message}"


# --- labels ---------------------------------------------------------------------


def revision_label(revision: str) -> str:
    """The label value for a revision: its first 40 characters (all of a SHA-1)."""
    value = revision[:REVISION_LABEL_CHARS]
    if not _LABEL_VALUE.fullmatch(value):
        raise ValueError(f"revision {revision!r} cannot be a label value")
    return value


def run_labels(template_name: str, *, environment: str, revision: str) -> dict[str, str]:
    """The labels that find a template's runs for an environment and revision."""
    if not _LABEL_VALUE.fullmatch(environment):
        raise ValueError(f"environment {environment!r} cannot be a label value")
    return {
        LABEL_MANAGED_BY: MANAGER,
        LABEL_RUN: template_name,
        LABEL_ENVIRONMENT: environment,
        LABEL_REVISION: revision_label(revision),
    }


def _created(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("creationTimestamp") or ""), str(meta.get("name") or "")


def _revision_of(run: Mapping[str, Any]) -> str:
    meta = run.get("metadata") or {}
    full = (meta.get("annotations") or {}).get(ANNOTATION_REVISION)
    return str(full if full is not None else (meta.get("labels") or {}).get(LABEL_REVISION, ""))


def _ref_of(obj: Mapping[str, Any]) -> ObjectRef:
    return ObjectRef.of(dict(obj))


# --- rendering ------------------------------------------------------------------


def render_run(
    template: RunTemplate,
    *,
    environment: str,
    revision: str,
    delivery: str,
    params: Parameters | Mapping[str, Any] | None = None,
    selected: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The object to create: placeholders filled, named by generateName, labelled.

    Filling is `orchestrator.manifests.params`' (same typing and injection rules
    as manifests); every unfillable placeholder is named in one VerificationFailed.
    """
    parameters = (
        params
        if isinstance(params, Parameters)
        else Parameters(values=dict(params or {}), sources=("the parameters given to the run",))
    )
    context: dict[str, Any] = {
        "revision": revision,
        "environment": environment,
        "delivery": delivery,
    }
    if selected is not None:
        context["selected"] = dict(selected)
    budget = Budget(Limits(), path=f"run template {template.name}")
    body, problems = substitute(
        template.template, params=parameters, budget=budget, ref=None, context=context
    )
    if problems:
        raise VerificationFailed(
            f"cannot create verification run {template.name}: "
            + "; ".join(str(p) for p in problems)
        )
    meta: dict[str, Any] = body["metadata"]
    meta["generateName"] = f"{template.name}-"
    meta["labels"] = {
        **(meta.get("labels") or {}),
        **run_labels(template.name, environment=environment, revision=revision),
    }
    meta["annotations"] = {
        **(meta.get("annotations") or {}),
        ANNOTATION_REVISION: revision,
        ANNOTATION_DELIVERY: delivery,
    }
    return dict(body)


def select(reader: ClusterReader, template: RunTemplate) -> dict[str, Any] | None:
    """The selector's newest match (None without a selector); VerificationFailed if none."""
    selector = template.selector
    if selector is None:
        return None
    namespace = selector.namespace or template.namespace
    found = reader.list(
        api_version=selector.api_version,
        kind=selector.kind,
        namespace=namespace,
        label_selector=selector.label_selector,
    )
    if not found:
        raise VerificationFailed(
            f"cannot create verification run {template.name}: its selector found no "
            f"{selector.kind} labelled {selector.label_selector} in namespace {namespace}"
        )
    return max(found, key=_created)


# --- finding and creating ---------------------------------------------------------


def find_runs(
    reader: ClusterReader, template: RunTemplate, *, environment: str, revision: str | None
) -> list[dict[str, Any]]:
    """The template's runs for this environment (and revision, if given), newest first."""
    labels = {LABEL_RUN: template.name, LABEL_ENVIRONMENT: environment}
    if revision is not None:
        labels[LABEL_REVISION] = revision_label(revision)
    found = reader.list(
        api_version=template.api_version,
        kind=template.kind,
        namespace=template.namespace,
        label_selector=",".join(f"{k}={v}" for k, v in sorted(labels.items())),
    )
    if revision is not None:
        found = [run for run in found if _revision_of(run) in (revision, revision_label(revision))]
    return sorted(found, key=_created, reverse=True)


def _reads_secrets(template: RunTemplate) -> bool:
    return template.selector is not None and template.selector.reads_secrets


def ensure_run(
    access: ClusterAccess,
    template: RunTemplate,
    *,
    environment: str,
    revision: str,
    delivery: str,
    params: Parameters | Mapping[str, Any] | None = None,
    field_manager: str,
) -> dict[str, Any]:
    """The newest run of this revision, created from the template if there is none.

    Never updates: a second revision gets a second run. A template the API server
    rejects is a VerificationFailed; an unreachable server propagates (try later).
    """
    existing = find_runs(access, template, environment=environment, revision=revision)
    if existing:
        return existing[0]
    body = render_run(
        template,
        environment=environment,
        revision=revision,
        delivery=delivery,
        params=params,
        selected=select(access, template),
    )
    try:
        return access.create(body, field_manager=field_manager)
    except ClusterUnreachable:
        raise
    except KubeError as exc:
        # The API server may quote the rendered value it refused: Secret data, maybe.
        said = WITHHELD if _reads_secrets(template) else str(exc)
        raise VerificationFailed(
            f"cannot create verification run {template.name}: {said}", refs=[_ref_of(body)]
        ) from None


# --- reading outcomes ---------------------------------------------------------------


def run_outcome(run: Mapping[str, Any]) -> tuple[RunOutcome, str]:
    """Passed, failed or pending, with the deciding condition's reason and message."""
    by_type: dict[str, Condition] = {}
    for item in conditions(run):
        by_type.setdefault(item.type, item)  # the first of a type, as controllers write one
    true = {ctype: c for ctype, c in by_type.items() if c.status == "True"}
    for ctype in ("Failed", "FailureTarget"):
        if ctype in true:
            return RunOutcome.FAILED, _said(true[ctype], f"{ctype}=True")
    succeeded = by_type.get("Succeeded")
    if succeeded is not None and succeeded.status == "False":
        return RunOutcome.FAILED, _said(succeeded, "Succeeded=False")
    for ctype in ("Succeeded", "Complete"):
        if ctype in true:
            return RunOutcome.PASSED, _said(true[ctype], f"{ctype}=True")
    if succeeded is not None:
        return RunOutcome.PENDING, _said(succeeded, "Succeeded=Unknown")
    return RunOutcome.PENDING, "running: no Succeeded or Complete condition yet"


def _said(cond: Condition, default: str) -> str:
    text = cond.describe()
    return f"{default}: {text}" if text else default


def read_outputs(template: RunTemplate, run: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The declared outputs found in the run, and a problem for each one that was not."""
    outputs: dict[str, Any] = {}
    problems: list[str] = []
    for name, path in template.outputs.items():
        found = FieldPath.parse(path).lookup(run)
        if found.found:
            outputs[name] = copy.deepcopy(found.value)
        else:
            problems.append(f"output {name} ({found.problem})")
    return outputs, problems


def run_result(
    template: RunTemplate, runs: Sequence[Mapping[str, Any]], *, revision: str
) -> RunResult:
    """What a revision's runs (newest first) came to.

    The newest decides the outcome; outputs come from the newest that passed.
    """
    if not runs:
        return RunResult(template.name, RunOutcome.PENDING, "not created yet", revision=revision)
    latest = runs[0]
    outcome, message = run_outcome(latest)
    outputs: dict[str, Any] = {}
    passed = next((r for r in runs if run_outcome(r)[0] is RunOutcome.PASSED), None)
    if passed is not None:
        outputs, problems = read_outputs(template, passed)
        if problems and passed is latest:
            outcome = RunOutcome.FAILED
            message = f"{message}, but cannot read " + "; ".join(problems)
    ref = _ref_of(latest)
    return RunResult(
        name=template.name,
        outcome=outcome,
        message=message,
        run_name=ref.name,
        namespace=ref.namespace,
        api_version=str(latest.get("apiVersion", "")),
        kind=ref.kind,
        revision=revision,
        outputs=outputs,
    )


# --- retention ------------------------------------------------------------------------


def runs_to_prune(
    runs: Sequence[Mapping[str, Any]], *, retention: int, revision: str
) -> list[Mapping[str, Any]]:
    """Finished runs beyond the `retention` newest, oldest first; never `revision`'s own.

    Pending runs are never pruned: deleting a running verification would only
    make the next look create it again.
    """
    finished = [r for r in runs if run_outcome(r)[0] is not RunOutcome.PENDING]
    finished.sort(key=_created, reverse=True)
    current = {revision, revision_label(revision)}
    doomed = [r for r in finished[retention:] if _revision_of(r) not in current]
    return doomed[::-1]


def prune_runs(
    access: ClusterAccess, template: RunTemplate, *, environment: str, revision: str
) -> list[str]:
    """Delete what `runs_to_prune` picks; returns the deleted names.

    Cleanup never fails verification: a run that cannot be listed or deleted
    now is picked again next time, so the failure is only logged.
    """
    try:
        runs = find_runs(access, template, environment=environment, revision=None)
    except KubeError as exc:
        log.warning("cannot list verification runs of %s to prune them: %s", template.name, exc)
        return []
    deleted: list[str] = []
    for run in runs_to_prune(runs, retention=template.retention, revision=revision):
        ref = _ref_of(run)
        try:
            access.delete(
                api_version=template.api_version,
                kind=template.kind,
                name=ref.name,
                namespace=ref.namespace,
            )
        except KubeError as exc:
            log.warning("cannot delete old verification run %s: %s", ref, exc)
            continue
        deleted.append(ref.name)
    return deleted


# --- waiting --------------------------------------------------------------------------


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

    def look(template: RunTemplate, previous: RunResult | None) -> RunResult:
        try:
            runs = find_runs(access, template, environment=environment, revision=revision)
            if not runs:  # not created yet, or deleted to run it again
                runs = [
                    ensure_run(
                        access,
                        template,
                        environment=environment,
                        revision=revision,
                        delivery=delivery,
                        params=params,
                        field_manager=field_manager,
                    )
                ]
        except ClusterUnreachable as exc:
            base = previous or RunResult(template.name, RunOutcome.PENDING, "", revision=revision)
            return dataclasses.replace(
                base, outcome=RunOutcome.PENDING, message=f"cannot be read: {exc}", outputs={}
            )
        result = run_result(template, runs, revision=revision)
        return result.withheld() if _reads_secrets(template) else result

    results: list[RunResult | None] = [None] * len(templates)
    pruned: set[str] = set()
    while True:
        if pacer.cancelled():
            raise HealthWaitCancelled(
                f"stopped waiting for verification runs after {clock() - start:.1f}s: cancelled"
            )
        current = [look(t, results[i]) for i, t in enumerate(templates)]
        results = list(current)
        if progress is not None:
            progress(current)
        for template, result in zip(templates, current, strict=True):
            if result.outcome is not RunOutcome.PENDING and template.name not in pruned:
                pruned.add(template.name)
                prune_runs(access, template, environment=environment, revision=revision)
        failed = [r for r in current if r.outcome is RunOutcome.FAILED]
        if failed:
            raise VerificationFailed(
                "; ".join(str(r) for r in failed),
                refs=[r.ref for r in failed],
                records=[r.as_record() for r in current],
            )
        elapsed = clock() - start
        pending = [
            (t, r)
            for t, r in zip(templates, current, strict=True)
            if r.outcome is RunOutcome.PENDING
        ]
        if not pending:
            return current
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
        pacer.pause(min(interval, *(t.timeout_seconds - elapsed for t, _ in pending)))
