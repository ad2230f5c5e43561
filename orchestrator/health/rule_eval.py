"""Applying a policy `HealthRule` to a live object: what Cartographer would conclude.

Mapping from Cartographer's ResourcesHealthy condition to our statuses:

- alwaysHealthy: Healthy, without reading the object at all.
- singleConditionType: True is Healthy; False is Degraded (not Failed: many
  controllers report False while they retry, so a bare "Ready is False" is not
  proof that nothing will change; write a multiMatch `unhealthy` rule to fail
  fast); Unknown or missing is Progressing (Cartographer: Unknown).
- multiMatch: any `unhealthy` requirement that holds is Failed (the author
  declared that state bad, so a wait can stop); else all `healthy` ones holding
  is Healthy; else Progressing (Cartographer: Unknown), naming the first
  requirement still unmet.

Before a rule that reads the object is trusted, the shared precondition
applies: a terminating object, or one whose controller has not observed the
current generation, is Progressing whatever the rule says; so is one whose
matched condition carries an `observedGeneration` older than the object's.

A field requirement never holds when its path finds no value or an ambiguous
one (In and NotIn included): before the controller writes a status, nothing
can match, so no object fails or passes on a status it does not have yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.health.fieldpath import FieldPath, Lookup, scalar_text
from orchestrator.health.live import (
    Verdict,
    condition,
    labelled,
    not_yet_observed,
    stale_condition,
)
from orchestrator.health.rules import (
    ConditionRequirement,
    FieldRequirement,
    HealthRule,
    MatchRule,
    MultiMatchRule,
)
from orchestrator.health.status import HealthStatus

__all__ = ["evaluate"]


def evaluate(rule: HealthRule, obj: Mapping[str, Any]) -> Verdict:
    """The verdict of a policy rule on a live object."""
    if rule.form == "alwaysHealthy":
        return HealthStatus.HEALTHY, "always healthy (policy rule)"
    if (early := not_yet_observed(obj)) is not None:
        return early
    if rule.single_condition_type is not None:
        return _single_condition(rule.single_condition_type, obj)
    assert rule.multi_match is not None  # validation guarantees exactly one form
    return _multi_match(rule.multi_match, obj)


def _single_condition(ctype: str, obj: Mapping[str, Any]) -> Verdict:
    found = condition(obj, ctype)
    if found is None:
        return HealthStatus.PROGRESSING, f"waiting for condition {ctype}"
    if (early := stale_condition(obj, found)) is not None:
        return early
    text = labelled(f"{ctype}={found.status}", found.describe())
    if found.status == "True":
        return HealthStatus.HEALTHY, text
    if found.status == "False":
        return HealthStatus.DEGRADED, text
    return HealthStatus.PROGRESSING, text


def _multi_match(rule: MultiMatchRule, obj: Mapping[str, Any]) -> Verdict:
    for req in (*rule.unhealthy.match_conditions, *rule.healthy.match_conditions):
        found = condition(obj, req.type)
        if found is not None and (early := stale_condition(obj, found)) is not None:
            return early
    return _any_unhealthy(rule.unhealthy, obj) or _all_healthy(rule.healthy, obj)


def _any_unhealthy(rule: MatchRule, obj: Mapping[str, Any]) -> Verdict | None:
    """Failed, with the first unhealthy requirement that holds; None when none does."""
    for req in rule.match_conditions:
        found = condition(obj, req.type)
        if found is not None and found.status == req.status:
            return HealthStatus.FAILED, labelled(f"{req.type}={req.status}", found.describe())
    for field in rule.match_fields:
        look = FieldPath.parse(field.key).lookup(obj)
        if _holds(field, look):
            return HealthStatus.FAILED, _field_message(field, look, obj)
    return None


def _all_healthy(rule: MatchRule, obj: Mapping[str, Any]) -> Verdict:
    """Healthy when every requirement holds, else Progressing naming the first unmet."""
    for req in rule.match_conditions:
        if (waiting := _condition_unmet(req, obj)) is not None:
            return HealthStatus.PROGRESSING, waiting
    for field in rule.match_fields:
        look = FieldPath.parse(field.key).lookup(obj)
        if not _holds(field, look):
            return HealthStatus.PROGRESSING, _field_unmet(field, look)
    for field in rule.match_fields:
        if field.message_path is not None:
            look = FieldPath.parse(field.key).lookup(obj)
            return HealthStatus.HEALTHY, _field_message(field, look, obj)
    count = len(rule.match_conditions) + len(rule.match_fields)
    return HealthStatus.HEALTHY, f"all {count} healthy requirement(s) hold"


def _condition_unmet(req: ConditionRequirement, obj: Mapping[str, Any]) -> str | None:
    found = condition(obj, req.type)
    if found is None:
        return f"waiting for condition {req.type}={req.status} (not reported yet)"
    if found.status != req.status:
        now = labelled(f"now {found.status}", found.describe())
        return f"waiting for condition {req.type}={req.status} ({now})"
    return None


def _holds(field: FieldRequirement, look: Lookup) -> bool:
    if look.ambiguous:
        return False
    if field.operator == "Exists":
        return look.found
    if field.operator == "DoesNotExist":
        return not look.found
    if not look.found:
        return False
    matched = scalar_text(look.value) in field.values
    return matched if field.operator == "In" else not matched


def _describe(field: FieldRequirement, look: Lookup) -> str:
    if field.operator in ("Exists", "DoesNotExist"):
        return f"{field.key} {'exists' if look.found else 'does not exist'}"
    return f"{field.key} is {_show(look.value)}"


def _field_message(field: FieldRequirement, look: Lookup, obj: Mapping[str, Any]) -> str:
    """What a matching requirement says: the field, then its messagePath's value."""
    message = ""
    if field.message_path is not None:
        found = FieldPath.parse(field.message_path).lookup(obj)
        message = _show(found.value) if found.found else ""
    return labelled(_describe(field, look), message)


def _field_unmet(field: FieldRequirement, look: Lookup) -> str:
    wanted = f"{field.key} {field.operator}"
    if field.values:
        wanted += f" [{', '.join(field.values)}]"
    if look.ambiguous or (not look.found and field.operator != "DoesNotExist"):
        return f"waiting for {wanted} ({look.problem})"
    return f"waiting for {wanted} ({_describe(field, look)})"


def _show(value: Any) -> str:
    text = scalar_text(value)
    return text if text is not None else repr(value)
