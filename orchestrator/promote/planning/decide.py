"""Deciding a promotion, as pure functions: the one path for the agent and `orchestrator promote`.

`decide` turns a verified revision's record (the first-parent history behind it
and this environment's notes on it) plus the policy and the time into a
`PromotionPlan`: which carried commits still need a `Superseded` note, which
deliveries go to which targets, and whether a gate holds them back (and until
when). `request_for` is the one builder of a `PromotionRequest`. Nothing here
reads Git or writes anything; the caller effects the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from orchestrator.promote.planning.request import PromotionRequest
from orchestrator.promote.policy.gates import GateVerdict, evaluate
from orchestrator.promote.policy.schema import EnvironmentPolicy
from orchestrator.promote.revision.deliveries import (
    Change,
    Notes,
    Planned,
    carried,
    plan,
    superseded,
)

Action = Literal["none", "done", "wait", "fail", "push"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PromotionPlan:
    """What promoting a verified revision takes now.

    `action` sums it up: `none` (the policy names no target), `done` (every
    delivery is on every target already), `wait` (a gate is closed: `gate` says
    why and when it opens), `fail` (the gates cannot be evaluated: `error`),
    `push` (make `promotions`, in order).
    """

    revision: str
    targets: tuple[str, ...]
    carried: tuple[Change, ...]
    supersede: tuple[Change, ...]  # carried commits without a verdict of their own
    promotions: tuple[Planned, ...]
    gate: GateVerdict | None = None  # looked at only when something is pending
    error: str = ""

    @property
    def pending_targets(self) -> list[str]:
        return sorted({t for p in self.promotions for t in p.targets})

    @property
    def action(self) -> Action:
        if not self.targets:
            return "none"
        if not self.promotions:
            return "done"
        if self.error:
            return "fail"
        if self.gate is not None and not self.gate.open:
            return "wait"
        return "push"


def gate_verdict(policy: EnvironmentPolicy, now: datetime) -> GateVerdict:
    """Whether the policy's gates let a promotion out at `now`; ValueError if unreadable."""
    return evaluate(policy.gates, now)


def decide(
    policy: EnvironmentPolicy,
    *,
    revision: str,
    history: Sequence[Change],
    notes: Notes,
    now: datetime,
) -> PromotionPlan:
    """The promotion plan of `revision` (= `history[0]`), verified here at `now`."""
    targets = tuple(policy.promotion.to)
    changes = carried(history, notes, targets=targets)
    promotions = plan(changes, notes, targets=targets, unit=policy.promotion.effective_unit)
    decided = PromotionPlan(
        revision=revision,
        targets=targets,
        carried=tuple(changes),
        supersede=tuple(superseded(changes, notes, revision=revision)),
        promotions=tuple(promotions),
    )
    if not targets or not promotions:
        return decided
    try:
        verdict = gate_verdict(policy, now)
    except ValueError as exc:  # the policy validates schedules; this is a last guard
        return replace(decided, error=f"cannot evaluate the promotion gates: {exc}")
    return replace(decided, gate=verdict)


def request_for(
    policy: EnvironmentPolicy,
    *,
    source_env: str,
    revision: str,
    feature: str,
    target: str,
    health: str,
    verified_by: str,
    origin_commit: str | None = None,
    carries: Sequence[str] = (),
    mode: Literal["pr", "auto"] | None = None,
) -> PromotionRequest:
    """The request that promotes `revision` of `source_env` to `target` under `policy`."""
    return PromotionRequest(
        source_env=source_env,
        source_commit=revision,
        feature=feature,
        target_env=target,
        mode=mode or policy.promotion.mode,
        paths=tuple(p.strip("/") for p in policy.promoted_paths),
        health=health or "Healthy",
        verified_by=verified_by,
        origin_commit=origin_commit,
        carries=tuple(carries),
    )
