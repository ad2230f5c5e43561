"""Policy health rules (Cartographer's healthRule): the models and their verdicts."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from orchestrator.health import HealthStatus, object_health
from orchestrator.health.rule_eval import evaluate
from orchestrator.health.rules import HealthRule, HealthRules

H, P, D, F = (
    HealthStatus.HEALTHY,
    HealthStatus.PROGRESSING,
    HealthStatus.DEGRADED,
    HealthStatus.FAILED,
)


def rule(text: str) -> HealthRule:
    return HealthRule.model_validate(yaml.safe_load(text))


def ksvc(**status: Any) -> dict[str, Any]:
    """A Knative Service: a custom resource whose health a platform team describes."""
    obj: dict[str, Any] = yaml.safe_load(
        """
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: web, namespace: shop, generation: 2}
status:
  observedGeneration: 2
  url: http://web.shop.example.com
  latestReadyRevisionName: web-00002
  conditions:
    - {type: ConfigurationsReady, status: "True"}
    - {type: RoutesReady, status: "True"}
    - {type: Ready, status: "True"}
"""
    )
    obj["status"].update(status)
    return obj


def conditions(*pairs: tuple[str, str], message: str = "") -> list[dict[str, str]]:
    return [{"type": t, "status": s, "reason": "R", "message": message} for t, s in pairs]


# --- alwaysHealthy -------------------------------------------------------------


def test_always_healthy_ignores_the_object() -> None:
    always = rule("alwaysHealthy: {}")
    broken = ksvc(conditions=conditions(("Ready", "False")), observedGeneration=1)

    assert always.form == "alwaysHealthy"
    assert evaluate(always, broken) == (H, "always healthy (policy rule)")


def test_always_healthy_accepts_yaml_null() -> None:
    assert rule("alwaysHealthy:").form == "alwaysHealthy"


# --- singleConditionType ------------------------------------------------------------


@pytest.mark.parametrize(
    ("ready", "status", "contains"),
    [
        ("True", H, "Ready=True"),
        ("False", D, "Ready=False: R: revision failed"),
        ("Unknown", P, "Ready=Unknown"),
        (None, P, "waiting for condition Ready"),
    ],
)
def test_single_condition_type(ready: str | None, status: HealthStatus, contains: str) -> None:
    pairs = [("RoutesReady", "True")] + ([("Ready", ready)] if ready else [])
    obj = ksvc(conditions=conditions(*pairs, message="revision failed"))

    verdict, message = evaluate(rule("singleConditionType: Ready"), obj)

    assert verdict is status
    assert contains in message


def test_single_condition_type_waits_for_the_current_generation() -> None:
    obj = ksvc(observedGeneration=1)

    assert evaluate(rule("singleConditionType: Ready"), obj) == (
        P,
        "waiting for controller to observe generation 2 (observed 1)",
    )


def test_single_condition_type_distrusts_a_condition_from_an_older_generation() -> None:
    obj = ksvc(observedGeneration=None)
    obj["status"]["conditions"][-1]["observedGeneration"] = 1

    verdict, message = evaluate(rule("singleConditionType: Ready"), obj)

    assert verdict is P
    assert "condition Ready observed 1" in message


# --- multiMatch -----------------------------------------------------------------------

MULTI = """
multiMatch:
  healthy:
    matchConditions:
      - {type: Ready, status: "True"}
    matchFields:
      - {key: status.url, operator: Exists, messagePath: status.url}
      - {key: status.latestReadyRevisionName, operator: NotIn, values: [""]}
  unhealthy:
    matchConditions:
      - {type: Ready, status: "False"}
    matchFields:
      - key: status.phase
        operator: In
        values: [Failed, Error]
        messagePath: status.message
"""


def test_multi_match_all_healthy() -> None:
    verdict, message = evaluate(rule(MULTI), ksvc())

    assert verdict is H
    assert message == "status.url exists: http://web.shop.example.com"


def test_multi_match_healthy_message_without_message_path() -> None:
    plain = rule(
        """
multiMatch:
  healthy:
    matchConditions: [{type: Ready, status: "True"}, {type: RoutesReady, status: "True"}]
"""
    )

    assert evaluate(plain, ksvc()) == (H, "all 2 healthy requirement(s) hold")


def test_multi_match_missing_healthy_condition_is_progressing() -> None:
    obj = ksvc(conditions=conditions(("RoutesReady", "True")))

    assert evaluate(rule(MULTI), obj) == (
        P,
        "waiting for condition Ready=True (not reported yet)",
    )


def test_multi_match_healthy_condition_with_other_status_is_progressing() -> None:
    obj = ksvc(conditions=conditions(("Ready", "Unknown"), message="rolling out"))

    assert evaluate(rule(MULTI), obj) == (
        P,
        "waiting for condition Ready=True (now Unknown: R: rolling out)",
    )


def test_multi_match_missing_healthy_field_is_progressing() -> None:
    obj = ksvc(url=None)

    verdict, message = evaluate(rule(MULTI), obj)

    assert verdict is P
    assert message == "waiting for status.url Exists (status.url: no value)"


def test_multi_match_unhealthy_field_uses_message_path() -> None:
    obj = ksvc(phase="Failed", message="revision web-00002 failed: exit code 3")

    assert evaluate(rule(MULTI), obj) == (
        F,
        "status.phase is Failed: revision web-00002 failed: exit code 3",
    )


def test_multi_match_unhealthy_field_without_message() -> None:
    obj = ksvc(phase="Error")

    assert evaluate(rule(MULTI), obj) == (F, "status.phase is Error")


def test_multi_match_unhealthy_condition_wins_over_healthy_fields() -> None:
    obj = ksvc(conditions=conditions(("Ready", "False"), message="RevisionFailed"))

    assert evaluate(rule(MULTI), obj) == (F, "Ready=False: R: RevisionFailed")


def test_multi_match_waits_for_the_current_generation() -> None:
    obj = ksvc(observedGeneration=1, phase="Failed")

    verdict, message = evaluate(rule(MULTI), obj)

    assert verdict is P
    assert "observe generation 2" in message


def test_multi_match_distrusts_a_matched_condition_from_an_older_generation() -> None:
    obj = ksvc(observedGeneration=None)
    obj["status"]["conditions"] = conditions(("Ready", "False"))
    obj["status"]["conditions"][0]["observedGeneration"] = 1

    verdict, message = evaluate(rule(MULTI), obj)

    assert verdict is P
    assert "condition Ready observed 1" in message


# Each operator, as a lone healthy requirement: Healthy when it holds, else Progressing.
@pytest.mark.parametrize(
    ("operator", "values", "phase", "holds"),
    [
        ("In", ["Running", "Ready"], "Running", True),
        ("In", ["Running", "Ready"], "Pending", False),
        ("In", ["Running"], None, False),  # no value: nothing to be in
        ("In", ["3"], 3, True),  # values are text; numbers compare as text
        ("In", ["true"], True, True),
        ("NotIn", ["Failed"], "Running", True),
        ("NotIn", ["Failed"], "Failed", False),
        ("NotIn", ["Failed"], None, False),  # missing is not "not failed" yet
        ("NotIn", ["Failed"], {"nested": 1}, True),
        ("Exists", [], "Running", True),
        ("Exists", [], "", True),
        ("Exists", [], None, False),
        ("DoesNotExist", [], None, True),
        ("DoesNotExist", [], "Running", False),
    ],
)
def test_operators(operator: str, values: list[str], phase: Any, holds: bool) -> None:
    requirement = {"key": "status.phase", "operator": operator, "values": values}
    as_healthy = HealthRule.model_validate(
        {"multiMatch": {"healthy": {"matchFields": [requirement]}}}
    )
    as_unhealthy = HealthRule.model_validate(
        {
            "multiMatch": {
                "healthy": {"matchConditions": [{"type": "Ready", "status": "True"}]},
                "unhealthy": {"matchFields": [requirement]},
            }
        }
    )
    obj = ksvc() if phase is None else ksvc(phase=phase)

    assert evaluate(as_healthy, obj)[0] is (H if holds else P)
    assert evaluate(as_unhealthy, obj)[0] is (F if holds else H)


def test_ambiguous_key_never_holds() -> None:
    ambiguous = rule(
        """
multiMatch:
  healthy:
    matchFields:
      - {key: 'status.conditions[?(@.status=="True")].type', operator: Exists}
"""
    )

    verdict, message = evaluate(ambiguous, ksvc())

    assert verdict is P
    assert "ambiguous, 3 items match" in message


def test_filter_key_in_cartographer_style() -> None:
    by_filter = rule(
        """
multiMatch:
  healthy:
    matchFields:
      - key: 'status.conditions[?(@.type=="Ready")].status'
        operator: In
        values: ["True"]
"""
    )

    assert evaluate(by_filter, ksvc())[0] is H
    assert evaluate(by_filter, ksvc(conditions=conditions(("Ready", "False"))))[0] is P


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{alwaysHealthy: {}, singleConditionType: Ready}", "exactly one of"),
        ("{}", "found: none"),
        ("singleConditionType: ''", "at least 1 character"),
        ("singleConditionType:", "found: none"),
        ("singleConditonType: Ready", "Extra inputs are not permitted"),
        (
            "multiMatch: {healthy: {matchFields: "
            "[{key: status.phase, operator: Equals, values: [x]}]}}",
            "'In', 'NotIn', 'Exists' or 'DoesNotExist'",
        ),
        (
            "multiMatch: {healthy: {matchFields: [{key: status.phase, operator: In}]}}",
            "operator In needs at least one value",
        ),
        (
            "multiMatch: {healthy: {matchFields: "
            "[{key: status.phase, operator: Exists, values: [x]}]}}",
            "operator Exists takes no values",
        ),
        (
            "multiMatch: {healthy: {matchFields: [{key: 'status..phase', operator: Exists}]}}",
            "invalid field path",
        ),
        (
            "multiMatch: {healthy: {matchFields: "
            "[{key: status.phase, operator: Exists, messagePath: 'status[*]'}]}}",
            "wildcards are not supported",
        ),
        ("multiMatch: {healthy: {}}", "needs at least one matchCondition or matchField"),
        ("multiMatch: {unhealthy: {matchConditions: [{type: Ready, status: 'False'}]}}", "healthy"),
        (
            "multiMatch: {healthy: {matchConditions: [{type: Ready, status: Maybe}]}}",
            "'True', 'False' or 'Unknown'",
        ),
    ],
)
def test_invalid_rules_are_rejected(text: str, error: str) -> None:
    with pytest.raises(ValidationError) as err:
        rule(text)

    assert error in str(err.value)


def test_yaml_booleans_and_scalars_read_as_text() -> None:
    parsed = rule(
        """
multiMatch:
  healthy:
    matchConditions: [{type: Ready, status: True}]
    matchFields: [{key: spec.replicas, operator: In, values: [3, true]}]
"""
    )

    assert parsed.multi_match is not None
    assert parsed.multi_match.healthy.match_conditions[0].status == "True"
    assert parsed.multi_match.healthy.match_fields[0].values == ("3", "true")


def test_rules_dump_back_to_policy_keys() -> None:
    parsed = rule(MULTI)

    dumped = parsed.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True)

    assert HealthRule.model_validate(dumped) == parsed
    assert "matchFields" in dumped["multiMatch"]["healthy"]


# --- the policy's list of rules ----------------------------------------------------------

POLICY_RULES = """
- apiVersion: serving.knative.dev/v1
  kind: Service
  healthRule: {singleConditionType: Ready}
- group: ""
  kind: Pod
  healthRule: {alwaysHealthy: {}}
"""


def test_rule_for_uses_group_and_kind_not_version() -> None:
    rules = HealthRules.model_validate(yaml.safe_load(POLICY_RULES))

    assert rules.rule_for("serving.knative.dev", "Service") == rule("singleConditionType: Ready")
    assert rules.rule_for("", "Pod") == rule("alwaysHealthy: {}")
    assert rules.rule_for("", "Service") is None  # core Service keeps its built-in check


def test_empty_rules() -> None:
    assert HealthRules.model_validate([]).rule_for("", "Pod") is None
    assert HealthRules().rule_for("", "Pod") is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "[{apiVersion: apps/v1, kind: Deployment, healthRule: {alwaysHealthy: {}}},"
            " {group: apps, kind: Deployment, healthRule: {singleConditionType: Available}}]",
            "two health rules for kind Deployment in group 'apps'",
        ),
        (
            "[{apiVersion: v1, group: '', kind: Pod, healthRule: {alwaysHealthy: {}}}]",
            "exactly one of apiVersion or group",
        ),
        ("[{kind: Pod, healthRule: {alwaysHealthy: {}}}]", "exactly one of apiVersion or group"),
        ("[{group: '', kind: Pod}]", "healthRule"),
        ("[{group: '', kind: Pod, healthRule: {}}]", "found: none"),
    ],
)
def test_invalid_policy_rules(text: str, error: str) -> None:
    with pytest.raises(ValidationError) as err:
        HealthRules.model_validate(yaml.safe_load(text))

    assert error in str(err.value)


def test_policy_rule_replaces_the_builtin_check() -> None:
    rules = HealthRules.model_validate(yaml.safe_load(POLICY_RULES))
    crashing_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "batch", "namespace": "shop"},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
            ],
        },
    }

    assert object_health(crashing_pod).status is D
    assert object_health(crashing_pod, rules=rules).status is H
    knative = object_health(ksvc(conditions=conditions(("Ready", "False"))), rules=rules)
    assert (knative.status, str(knative.ref)) == (D, "Service/shop/web")
