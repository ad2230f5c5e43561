"""No live object, however malformed, makes a health check raise.

The API server validates built-in kinds, but custom resources, half-written
statuses and future fields reach these functions too; an exception here would
stop the agent's reconcile instead of reporting one object's health.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.health import HealthStatus, object_health
from orchestrator.health.cel_rules import CelRule, evaluate_cel
from orchestrator.health.kinds import BUILTIN_CHECKS
from orchestrator.health.rule_eval import evaluate
from orchestrator.health.rules import HealthRule

# Field names the checks read, so generated objects reach the interesting branches.
FIELDS = [
    "replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "currentReplicas",
    "observedGeneration", "generation", "conditions", "phase", "paused", "updateStrategy",
    "rollingUpdate", "partition", "type", "status", "reason", "message", "currentRevision",
    "updateRevision", "desiredNumberScheduled", "currentNumberScheduled",
    "updatedNumberScheduled", "numberAvailable", "numberReady", "containerStatuses",
    "initContainerStatuses", "state", "waiting", "terminated", "exitCode", "name", "startTime",
    "succeeded", "active", "failed", "completions", "loadBalancer", "ingress", "ip", "hostname",
    "deletionTimestamp", "url", "suspend", "restartPolicy", "restartCount", "health",
    "annotations", "desiredReplicas", "autoscaling.alpha.kubernetes.io/conditions",
]  # fmt: skip

METADATA = ["name", "namespace", "generation", "deletionTimestamp", "annotations"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 5),
    st.sampled_from(["True", "False", "Unknown", "Running", "Failed", "Bound", "LoadBalancer"]),
    st.text(max_size=5),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4),
    ),
    max_leaves=12,
)
kinds = st.sampled_from(
    [(f"{group}/v1" if group else "v1", kind) for group, kind in BUILTIN_CHECKS]
    + [("example.com/v1", "Widget")]
)


@st.composite
def live_objects(draw: st.DrawFn) -> dict[str, Any]:
    api_version, kind = draw(kinds)
    return {
        "apiVersion": api_version,
        "kind": kind,
        # The API server guarantees metadata is an object; everything inside may be odd.
        "metadata": draw(st.dictionaries(st.sampled_from(METADATA), json_values, max_size=3)),
        "spec": draw(json_values),
        "status": draw(json_values),
    }


RULES = [
    HealthRule.model_validate({"singleConditionType": "Ready"}),
    HealthRule.model_validate(
        {
            "multiMatch": {
                "healthy": {
                    "matchConditions": [{"type": "Ready", "status": "True"}],
                    "matchFields": [
                        {"key": "status.phase", "operator": "In", "values": ["Running"]},
                        {"key": "status.conditions[0].type", "operator": "Exists"},
                    ],
                },
                "unhealthy": {
                    "matchFields": [
                        {
                            "key": 'status.conditions[?(@.type=="Ready")].status',
                            "operator": "NotIn",
                            "values": ["True"],
                            "messagePath": "status.message",
                        }
                    ]
                },
            }
        }
    ),
]


@settings(max_examples=400, deadline=None)
@given(obj=live_objects())
def test_builtin_checks_never_raise(obj: dict[str, Any]) -> None:
    result = object_health(obj)

    assert isinstance(result.status, HealthStatus)
    assert isinstance(result.message, str)


@settings(max_examples=200, deadline=None)
@given(obj=live_objects(), rule_index=st.integers(0, len(RULES) - 1))
def test_rules_never_raise(obj: dict[str, Any], rule_index: int) -> None:
    status, message = evaluate(RULES[rule_index], obj)

    assert isinstance(status, HealthStatus)
    assert isinstance(message, str)


CEL_RULE = CelRule(
    name="example.com/Widget",
    in_progress="status.?phase.orValue('') == 'Pending'",
    failed="status.conditions.exists(c, c.type == 'Stalled' && c.status == 'True')",
    current="status.conditions.filter(c, c.type == 'Ready').all(c, c.status == 'True')",
)


@settings(max_examples=200, deadline=None)
@given(obj=live_objects())
def test_cel_rules_never_raise(obj: dict[str, Any]) -> None:
    status, message = evaluate_cel(CEL_RULE, obj)

    assert isinstance(status, HealthStatus)
    assert isinstance(message, str)
