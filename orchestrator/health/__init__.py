"""Is the delivery really good: per-kind status, rules, waiting, soak, verification runs.

The pure part, importable without a cluster:

- `status`: HealthStatus (severity order), ObjectHealth, DeliveryHealth, worst;
- `kinds`: one status function per built-in kind, generic rules for the rest;
- `rules` / `rule_eval`: the policy's Cartographer-style health rules;
- `cel_rules` / `cel_source`: the policy's CEL health rules, in Flux's shape;
- `check`: object_health and delivery_health, which pick a rule or a kind check.

The waiting part reaches the cluster only through an injected `reader`
(`reader.ClusterReader` / `ClusterAccess`, which KubeClient satisfies):

- `observe`: Target (an applied object) and one look at all of them;
- `wait`: wait_for_health (fail fast, timeout, cancel) and soak;
- `runs` / `run_template`: verification runs, created per revision, never updated.
"""

from orchestrator.health.cel_rules import CelRule
from orchestrator.health.check import delivery_health, object_health
from orchestrator.health.observe import Target, observe
from orchestrator.health.reader import ClusterAccess, ClusterReader
from orchestrator.health.rules import HealthRule, HealthRules, KindHealthRule
from orchestrator.health.run_template import RunSelector, RunTemplate
from orchestrator.health.runs import (
    RunOutcome,
    RunResult,
    ensure_run,
    prune_runs,
    run_outcome,
    wait_for_runs,
)
from orchestrator.health.status import DeliveryHealth, HealthStatus, ObjectHealth, worst
from orchestrator.health.wait import soak, wait_for_health

__all__ = [
    "CelRule",
    "ClusterAccess",
    "ClusterReader",
    "DeliveryHealth",
    "HealthRule",
    "HealthRules",
    "HealthStatus",
    "KindHealthRule",
    "ObjectHealth",
    "RunOutcome",
    "RunResult",
    "RunSelector",
    "RunTemplate",
    "Target",
    "delivery_health",
    "ensure_run",
    "object_health",
    "observe",
    "prune_runs",
    "run_outcome",
    "soak",
    "wait_for_health",
    "wait_for_runs",
    "worst",
]
