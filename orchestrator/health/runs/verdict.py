"""What a verification run says: its outcome, its outputs, and which old runs may go."""

from __future__ import annotations

import copy
import dataclasses
import enum
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.errors import (
    KubeError,
)
from orchestrator.health.fieldpath import FieldPath
from orchestrator.health.live import Condition, conditions
from orchestrator.health.reader import ClusterAccess
from orchestrator.health.run_template import RunTemplate
from orchestrator.health.runs.objects import (
    WITHHELD,
    created_order,
    find_runs,
    ref_of,
    revision_label,
    revision_of,
)
from orchestrator.objectref import ObjectRef

log = logging.getLogger(__name__)


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
    ref = ref_of(latest)
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
    finished.sort(key=created_order, reverse=True)
    current = {revision, revision_label(revision)}
    doomed = [r for r in finished[retention:] if revision_of(r) not in current]
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
        ref = ref_of(run)
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
