"""The `orchestrator status` tables: the pipeline view as rich renderables for a terminal.

A terminal gets boxed tables; a pipe gets kubectl-style columns that grep and awk
read. The columns are documented in docs/status.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from orchestrator.gitbus import protocol
from orchestrator.status.feature import FEATURE_SCHEMA, FeatureView, feature_view
from orchestrator.status.model import (
    CandidateView,
    DeliveryView,
    PipelineView,
    PromotionLink,
    Status,
)

_STYLE = {
    Status.HEALTHY: "green",
    Status.PROGRESSING: "yellow",
    Status.FAILED: "bold red",
    Status.UNKNOWN: "dim",
}


def age(seconds: int) -> str:
    """`42s`, `3m`, `5h`, `2d`: the largest unit, like kubectl."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _branch(ref: str) -> str:
    return ref.removeprefix(protocol.BRANCH_PREFIX)


def _promotion(link: PromotionLink) -> Text:
    where = _branch(link.ref) + (f"@{link.commit[:7]}" if link.commit else "")
    text = Text(f"→ {link.target}: {where}")
    style = {"delivered": "green", "waiting": "yellow"}.get(link.state, "dim")
    text.append(f" ({link.state})", style=style)
    return text


def _phase(delivery: DeliveryView) -> Text:
    text = Text(delivery.phase or "Pending", style=_STYLE[delivery.status])
    if delivery.stage:
        text.append(f" {delivery.stage}", style="red")
    return text


def _table(title: str, *, plain: bool) -> Table:
    """Boxes for a terminal; for a pipe, kubectl-style columns that grep and awk read."""
    if plain:
        return Table(title=title, title_justify="left", box=None, pad_edge=False, expand=False)
    return Table(title=title, title_justify="left", expand=False)


def _deliveries_table(view: PipelineView, *, plain: bool = False) -> Table:
    table = _table("Deliveries", plain=plain)
    for name in ("ENVIRONMENT", "DELIVERY", "PHASE", "HEALTH", "REVISION", "AGE", "PROMOTION"):
        table.add_column(name, no_wrap=plain or name != "PROMOTION")
    lines = Text("; " if plain else "\n")  # one row per delivery in a pipe
    for env in view.environments:
        if not env.deliveries:
            table.add_row(env.name, Text("(no branch)" if env.tip is None else "-", "dim"))
        for delivery in env.deliveries:
            promotions = lines.join(_promotion(p) for p in delivery.promotions)
            if delivery.promoted_from is not None:
                origin = delivery.promoted_from
                back = Text(f"← {origin.environment}@{origin.revision[:7]}", style="dim")
                promotions = lines.join([p for p in (promotions, back) if p.plain])
            if delivery.verified_on:
                covered = Text(f"verified on {delivery.verified_on[:7]}", style="dim")
                promotions = lines.join([p for p in (promotions, covered) if p.plain])
            if delivery.message and delivery.status == Status.FAILED:
                promotions = lines.join(
                    [p for p in (promotions, Text(delivery.message, "red")) if p.plain]
                )
            table.add_row(
                env.name,
                delivery.delivery,
                _phase(delivery),
                delivery.health or "",
                delivery.revision[:7] + ("" if delivery.current else " (old)"),
                age(delivery.age_seconds),
                promotions,
                style=None if delivery.current else "dim",
            )
        if not plain:
            table.add_section()
    return table


def _candidates_table(candidates: Sequence[CandidateView], *, plain: bool = False) -> Table:
    table = _table("Waiting for a merge", plain=plain)
    for name in ("ENVIRONMENT", "DELIVERY", "BRANCH", "REVISION", "AGE", "FROM"):
        table.add_column(name, no_wrap=True)
    for candidate in candidates:
        origin = candidate.promoted_from
        table.add_row(
            candidate.environment,
            candidate.delivery,
            _branch(candidate.ref),
            candidate.revision[:7],
            age(candidate.age_seconds),
            f"{origin.environment}@{origin.revision[:7]}" if origin else "",
        )
    return table


def hint(view: PipelineView) -> str | None:
    """What to do next when the repository has nothing to show yet."""
    if not view.environments:
        return (
            "no environments yet: an environment is a branch holding "
            ".orchestrator/policy.yaml (see docs/getting-started.md)"
        )
    noted = any(d.phase for env in view.environments for d in env.deliveries)
    waiting = any(env.candidates for env in view.environments)
    if noted or waiting:
        return None
    first = view.environments[0].name
    return (
        f"no deliveries yet: publish one (orchestrator publish --env {first} --feature NAME "
        f"--from DIR), merge it (orchestrator approve), and {first}'s agent notes it here"
    )


def _feature_table(feature: FeatureView, *, plain: bool = False) -> Table:
    table = _table(f"Delivery {feature.feature}", plain=plain)
    for name in ("ENVIRONMENT", "STATE", "PHASE", "HEALTH", "REVISION", "VERIFIED ON", "PROMOTION"):
        table.add_column(name, no_wrap=name != "PROMOTION")
    for stop in feature.environments:
        style = _STYLE.get(stop.status, "dim")
        phase = Text(stop.phase or "", style=style)
        if stop.stage:
            phase.append(f" {stop.stage}", style="red")
        lines = [_promotion(p) for p in stop.promotions]
        if stop.candidate:
            lines.append(Text(f"waiting: {_branch(stop.candidate)}", style="yellow"))
        if stop.conflicts:
            lines.append(Text(f"conflicts: {', '.join(stop.conflicts)}", style="red"))
        table.add_row(
            stop.environment,
            stop.state,
            phase,
            stop.health or "",
            (stop.revision or "")[:7],
            (stop.verified_on or "")[:7],
            Text("\n").join(lines),
        )
    return table


def feature_document(view: PipelineView, feature: str) -> dict[str, object]:
    """The `-o json` document of `status --feature` (docs/status.md)."""
    return {
        "schema": FEATURE_SCHEMA,
        "remote": view.remote,
        "generated_at": view.generated_at,
        "warnings": list(view.warnings),
        "feature": feature_view(view, feature).to_json(),
    }


def document(view: PipelineView, feature: str | None) -> dict[str, object]:
    return feature_document(view, feature) if feature else view.to_json()


def render(
    view: PipelineView, feature: str | None = None, *, plain: bool = False
) -> RenderableType:
    """The tables a person reads: deliveries per environment, then waiting candidates."""
    parts: list[RenderableType] = [
        Text(f"{view.remote}  (read {view.generated_at}, order: {view.order})", style="dim"),
    ]
    if feature is not None:
        parts.append(_feature_table(feature_view(view, feature), plain=plain))
        parts.extend(Text(f"warning: {w}", style="yellow") for w in view.warnings)
        return Group(*parts)
    parts.append(_deliveries_table(view, plain=plain))
    candidates = [c for env in view.environments for c in env.candidates]
    if candidates:
        parts.append(_candidates_table(candidates, plain=plain))
    parts.extend(
        Text(f"suspended: {env.suspended.describe()} (orchestrator resume {env.name})", "yellow")
        for env in view.environments
        if env.suspended is not None
    )
    parts.extend(Text(f"warning: {w}", style="yellow") for w in view.warnings)
    next_step = hint(view)
    if next_step:
        parts.append(Text(f"hint: {next_step}", style="cyan"))
    return Group(*parts)
