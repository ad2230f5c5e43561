"""Table-driven tests of the per-kind status functions: one YAML fixture per outcome.

Each file in `fixtures/<module>/` holds a live object as the API returns it,
the outcome it illustrates (`case`), and what we expect: a status and a piece
of the message. The directory names the module in `orchestrator.health.kinds`
that must handle the object, so the registry is tested with every fixture.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.health import HealthStatus, object_health
from orchestrator.health.kinds import BUILTIN_CHECKS, checker_for, generic
from orchestrator.objectref import ObjectRef

FIXTURES = Path(__file__).parent / "fixtures"

KIND_MODULES = (
    "apiservice",
    "crd",
    "daemonset",
    "deployment",
    "generic",
    "hpa",
    "ingress",
    "job",
    "pod",
    "pvc",
    "replicaset",
    "service",
    "statefulset",
)

CASES = {
    "healthy": HealthStatus.HEALTHY,
    "progressing": HealthStatus.PROGRESSING,
    "unknown": HealthStatus.UNKNOWN,
    "degraded": HealthStatus.DEGRADED,
    "failed": HealthStatus.FAILED,
    "stale-generation": HealthStatus.PROGRESSING,
    "terminating": HealthStatus.PROGRESSING,
}

# Kinds whose objects carry no signal that proves a problem: their controllers
# set no failure condition, so they stay Progressing until a wait times out.
NO_FAILURE_SIGNAL = {
    "statefulset": "the StatefulSet controller sets no conditions",
    "daemonset": "the DaemonSet controller sets no failure condition",
    "service": "a Service without a load balancer address has no reason field",
    "ingress": "an Ingress is usable once accepted, with or without an address",
}

# Kinds whose status has no observedGeneration: deletion stands in for the generation rule.
NO_OBSERVED_GENERATION = {
    "apiservice": "the aggregator writes conditions only",
    "ingress": "Ingress status holds load balancer entries only",
}

# Kinds with nothing to wait for once the API server accepted them.
NOTHING_TO_WAIT_FOR = {
    "ingress": "an Ingress is usable with or without a published address",
}


def _load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict), f"{path}: not a mapping"
    return doc


def _fixtures() -> list[Any]:
    return [
        pytest.param(path.parent.name, _load(path), id=f"{path.parent.name}/{path.stem}")
        for path in sorted(FIXTURES.glob("*/*.yaml"))
    ]


ALL_FIXTURES = _fixtures()


@pytest.mark.parametrize(("module", "fixture"), ALL_FIXTURES)
def test_fixture(module: str, fixture: dict[str, Any]) -> None:
    obj = fixture["object"]
    expect = fixture["expect"]

    result = object_health(obj)

    assert result.status is HealthStatus(expect["status"]), result.message
    assert expect["message_contains"] in result.message
    assert result.ref == ObjectRef.of(obj)


@pytest.mark.parametrize(("module", "fixture"), ALL_FIXTURES)
def test_fixture_is_routed_to_its_module(module: str, fixture: dict[str, Any]) -> None:
    ref = ObjectRef.of(fixture["object"])
    kind_module = importlib.import_module(f"orchestrator.health.kinds.{module}")

    assert checker_for(ref.group, ref.kind) is kind_module.check


@pytest.mark.parametrize(("module", "fixture"), ALL_FIXTURES)
def test_fixture_is_well_formed(module: str, fixture: dict[str, Any]) -> None:
    assert set(fixture) == {"case", "description", "expect", "object"}
    assert set(fixture["expect"]) == {"status", "message_contains"}
    assert fixture["expect"]["message_contains"], "an empty substring matches anything"
    assert CASES[fixture["case"]] is HealthStatus(fixture["expect"]["status"])


@pytest.mark.parametrize("module", KIND_MODULES)
def test_every_kind_covers_each_outcome(module: str) -> None:
    cases = {_load(p)["case"] for p in (FIXTURES / module).glob("*.yaml")}

    required = {"healthy"}
    required.add("terminating" if module in NO_OBSERVED_GENERATION else "stale-generation")
    if module not in NOTHING_TO_WAIT_FOR:
        required.add("progressing")
    assert required <= cases
    if module not in NO_FAILURE_SIGNAL:
        assert cases & {"degraded", "failed"}


def test_every_kind_module_has_fixtures() -> None:
    assert sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()) == sorted(KIND_MODULES)


def test_registry_names_each_builtin_kind_once() -> None:
    modules = {check.__module__.rsplit(".", 1)[-1] for check in BUILTIN_CHECKS.values()}

    assert modules == set(KIND_MODULES) - {"generic"}


def test_unknown_kind_falls_back_to_generic() -> None:
    assert checker_for("shop.example.com", "Widget") is generic.check
    # Same kind name, other group: the built-in Deployment rules must not apply.
    assert checker_for("shop.example.com", "Deployment") is generic.check
