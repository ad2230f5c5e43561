"""object_health and delivery_health: the verdict on a whole delivery from live objects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from orchestrator.health import HealthRules, HealthStatus, delivery_health, object_health

FIXTURES = Path(__file__).parent / "fixtures"


def live(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    obj: dict[str, Any] = doc["object"]
    return obj


def test_a_healthy_delivery() -> None:
    objects = [
        live("crd/healthy"),
        live("generic/healthy-no-status"),
        live("service/healthy-clusterip"),
        live("deployment/healthy"),
        live("job/healthy"),
    ]

    health = delivery_health(objects)

    assert health.status is HealthStatus.HEALTHY
    assert health.summary == "Healthy (5/5)"
    assert [str(o.ref) for o in health.objects] == [
        "CustomResourceDefinition/widgets.shop.example.com",
        "ConfigMap/shop/web-config",
        "Service/shop/web",
        "Deployment/shop/web",
        "Job/shop/migrate-db",
    ]


def test_the_worst_object_decides_and_is_named() -> None:
    objects = [
        live("service/progressing-loadbalancer-pending"),
        live("deployment/failed-progress-deadline"),
        live("pod/degraded-crashloop"),
        live("generic/healthy-no-status"),
    ]

    health = delivery_health(objects)

    assert health.status is HealthStatus.FAILED
    assert health.summary == (
        "Failed: Deployment/shop/web: progress deadline exceeded: "
        'ReplicaSet "web-85f6b7d9c" has timed out progressing. (+2 more)'
    )


def test_rules_apply_to_every_object_of_their_kind() -> None:
    rules = HealthRules.model_validate(
        [{"group": "", "kind": "Service", "healthRule": {"alwaysHealthy": {}}}]
    )
    objects = [live("service/progressing-loadbalancer-pending"), live("deployment/healthy")]

    assert delivery_health(objects).status is HealthStatus.PROGRESSING
    assert delivery_health(objects, rules=rules).summary == "Healthy (2/2)"


def test_object_health_accepts_any_mapping() -> None:
    frozen = MappingProxyType(live("deployment/healthy"))

    assert object_health(frozen).status is HealthStatus.HEALTHY


def test_the_health_package_stays_pure() -> None:
    """No module under orchestrator.health pulls in a cluster or Git client."""
    script = (
        "import importlib, pkgutil, sys\n"
        "import orchestrator.health as h\n"
        "for m in pkgutil.walk_packages(h.__path__, 'orchestrator.health.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'pygit2')\n"
        "       or m.startswith(('orchestrator.kube', 'orchestrator.gitbus'))]\n"
        "print(bad)\n"
    )

    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout

    assert out.strip() == "[]"
