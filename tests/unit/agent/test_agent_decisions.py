"""The reconciler's pure decisions: what to note, what to hold, what a batch means."""

from __future__ import annotations

from orchestrator.agent.decisions import after_batch, healthy_note, held_revision, with_health
from orchestrator.gitbus.protocol import NoteEntry
from orchestrator.health import DeliveryHealth
from orchestrator.health.status import HealthStatus, ObjectHealth
from orchestrator.kube.changeset import ChangeSet
from orchestrator.objectref import ObjectRef
from orchestrator.promote.write.batch import BatchResult
from orchestrator.record import Entry, Phase, Stage

A, B = "a" * 40, "b" * 40


def _healthy() -> Entry:
    return Entry.of(NoteEntry(id="h", at="2026-01-01T00:00:00Z", agent="x", phase="Healthy"))


def test_the_first_verification_is_noted_healthy_and_a_quiet_repeat_not_at_all() -> None:
    assert healthy_note([], ChangeSet()) == (Phase.HEALTHY, "")
    assert healthy_note([_healthy()], ChangeSet()) is None


def test_a_rolled_back_environment_holds_only_a_verified_other_revision() -> None:
    assert held_revision(applied=A, verified=[A], revision=B) == A
    assert held_revision(applied=A, verified=[], revision=B) is None
    assert held_revision(applied=B, verified=[B], revision=B) is None
    assert held_revision(applied="", verified=[A], revision=B) is None


def test_a_batch_decides_the_phase() -> None:
    failed = after_batch(BatchResult(failed="refused", promotions=[("qa", "failed")]))
    assert (failed.phase, failed.stage, failed.message) == (
        Phase.HEALTHY,
        Stage.PROMOTION,
        "refused",
    )
    conflict = after_batch(BatchResult(conflicts=["feature-a"]))
    assert conflict.phase is Phase.HEALTHY
    assert "feature-a" in conflict.message
    stale = after_batch(BatchResult(superseded=["newer there"]))
    assert (stale.phase, stale.message) == (Phase.SUPERSEDED, "newer there")
    partly = after_batch(BatchResult(superseded=["newer there"], pushed_any=True))
    assert partly.phase is Phase.PROMOTED


def test_the_note_names_each_object_with_its_last_health() -> None:
    ref = ObjectRef.of(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "shop"}}
    )
    health = DeliveryHealth.of([ObjectHealth(ref=ref, status=HealthStatus.HEALTHY, message="")])
    objects = [
        {"object": str(ref), "action": "created"},
        {"object": "Secret/shop/b", "action": "unchanged"},
    ]
    assert with_health(objects, health) == [
        {"object": str(ref), "action": "created", "health": "Healthy"},
        {"object": "Secret/shop/b", "action": "unchanged"},
    ]
    assert objects[0] == {"object": str(ref), "action": "created"}  # the input stays as it was
