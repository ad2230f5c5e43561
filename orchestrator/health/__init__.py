"""Is the delivery really good: per-kind status, rules, waiting, soak, verification runs.

The pure part, importable without a cluster:

- `status`: HealthStatus (severity order), ObjectHealth, DeliveryHealth, worst;
- `kinds`: one status function per built-in kind, generic rules for the rest;
- `rules` / `rule_eval`: the policy's Cartographer-style health rules;
- `check`: object_health and delivery_health, which pick a rule or a kind check.
"""

from orchestrator.health.check import delivery_health, object_health
from orchestrator.health.rules import HealthRule, HealthRules, KindHealthRule
from orchestrator.health.status import DeliveryHealth, HealthStatus, ObjectHealth, worst

__all__ = [
    "DeliveryHealth",
    "HealthRule",
    "HealthRules",
    "HealthStatus",
    "KindHealthRule",
    "ObjectHealth",
    "delivery_health",
    "object_health",
    "worst",
]
