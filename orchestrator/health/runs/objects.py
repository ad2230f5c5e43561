"""Verification run objects: their labels, rendering one from a template, finding them."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from orchestrator.errors import (
    ClusterUnreachable,
    KubeError,
    VerificationFailed,
)
from orchestrator.health.reader import ClusterAccess, ClusterReader
from orchestrator.health.run_template import RunTemplate
from orchestrator.manifests.limits import Budget, Limits
from orchestrator.manifests.params import Parameters, substitute
from orchestrator.objectref import ObjectRef

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


def created_order(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("creationTimestamp") or ""), str(meta.get("name") or "")


def revision_of(run: Mapping[str, Any]) -> str:
    meta = run.get("metadata") or {}
    full = (meta.get("annotations") or {}).get(ANNOTATION_REVISION)
    return str(full if full is not None else (meta.get("labels") or {}).get(LABEL_REVISION, ""))


def ref_of(obj: Mapping[str, Any]) -> ObjectRef:
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
    return max(found, key=created_order)


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
        found = [run for run in found if revision_of(run) in (revision, revision_label(revision))]
    return sorted(found, key=created_order, reverse=True)


def reads_secrets(template: RunTemplate) -> bool:
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
        said = WITHHELD if reads_secrets(template) else str(exc)
        raise VerificationFailed(
            f"cannot create verification run {template.name}: {said}", refs=[ref_of(body)]
        ) from None


# --- reading outcomes ---------------------------------------------------------------
