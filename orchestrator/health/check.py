"""The verdict on one object, and on a delivery: a policy rule, else the built-in check."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from orchestrator.health.cel_rules import CelRule, evaluate_cel
from orchestrator.health.kinds import checker_for
from orchestrator.health.rule_eval import evaluate
from orchestrator.health.rules import HealthRules
from orchestrator.health.status import DeliveryHealth, ObjectHealth
from orchestrator.objectref import ObjectRef

__all__ = ["delivery_health", "object_health"]


def object_health(obj: Mapping[str, Any], *, rules: HealthRules | None = None) -> ObjectHealth:
    """The health of one live object.

    A policy rule for the object's kind replaces the built-in check entirely:
    the platform team knows its custom resources better than any default.
    """
    ref = ObjectRef.of(dict(obj))
    rule = rules.rule_for(ref.group, ref.kind) if rules is not None else None
    if isinstance(rule, CelRule):
        status, message = evaluate_cel(rule, obj)
    elif rule is not None:
        status, message = evaluate(rule, obj)
    else:
        status, message = checker_for(ref.group, ref.kind)(obj)
    return ObjectHealth(ref=ref, status=status, message=message)


def delivery_health(
    objects: Iterable[Mapping[str, Any]], *, rules: HealthRules | None = None
) -> DeliveryHealth:
    """The health of every live object of a delivery, in the order given."""
    return DeliveryHealth.of(object_health(obj, rules=rules) for obj in objects)
