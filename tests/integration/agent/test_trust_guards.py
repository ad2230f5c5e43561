"""What a reconcile refuses to trust: forged notes, passing blips, runs outside the allowance.

Each test drives one environment's Pipeline on a real bare repository and a
real kube-apiserver (`trust_env.py`), and each fails on the code before the
guard it names.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.controlplane import Cluster
from orchestrator.errors import UnknownKind
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.record import Phase, Report
from tests.support.workrepo import git

from .trust_env import ENV, POLICY, TrustEnv, capture_logs, config_map, documents, forms, policy

pytestmark = pytest.mark.controlplane

WIDGET_GROUP = "blip.trust.test"


@pytest.fixture
def env(cluster: Cluster, tmp_path: Path) -> Iterator[TrustEnv]:
    trust = TrustEnv(cluster=cluster, root=tmp_path, drift_retries=2, drift_retry_seconds=2)
    try:
        yield trust
    finally:
        trust.close()


def _forge_healthy_note(env: TrustEnv, revision: str, root: Path) -> None:
    """What anyone with push access can do: say Healthy on any commit."""
    attacker = CacheRepo.open(root / "attacker", remote_url=str(env.bus.bare))
    attacker.poll([f"refs/heads/{ENV}"])
    entry = Report(environment=ENV, revision=revision, agent="staging-agent").entry(Phase.HEALTHY)
    attacker.add_note(
        env=ENV,
        commit=revision,
        entries=[entry],
        author=Identity(name="mallory", email="mallory@example.com"),
    )


def test_rollback_ignores_a_forged_healthy_note_and_keeps_correcting_drift(
    env: TrustEnv, tmp_path: Path
) -> None:
    ns = env.app_ns
    rules = policy({"allow": {"namespaces": [ns]}, "rollback": True, "health": {"timeout": "20s"}})
    good = env.commit(
        {POLICY: rules, "manifests/app.yaml": documents(config_map("app", ns, v="1"))},
        message="Deliver app v1",
    )
    assert env.reconcile(good).phase is Phase.HEALTHY

    planted = documents(config_map("app", ns, v="1"), config_map("planted", ns, by="mallory"))
    forged = env.commit({"manifests/app.yaml": planted}, message="Plant a ConfigMap")
    _forge_healthy_note(env, forged, tmp_path)
    broken_service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"ports": [{"port": 99999}]},
    }
    broken = env.commit(
        {"manifests/service.yaml": documents(broken_service)}, message="Add a broken Service"
    )

    outcome = env.reconcile(broken)

    assert outcome.phase is Phase.ROLLED_BACK
    rolled = [e for e in env.note(broken) if e["phase"] == "RolledBack"]
    assert [e["rolledBackTo"] for e in rolled] == [good]
    assert env.get("ConfigMap", "planted") is None

    # Rolled back, the environment keeps correcting drift toward `good`.
    env.kube.delete(api_version="v1", kind="ConfigMap", name="app", namespace=ns)
    again = env.reconcile(broken)

    assert again.phase is Phase.ROLLED_BACK
    restored = env.get("ConfigMap", "app")
    assert restored is not None
    assert restored["data"] == {"v": "1"}
    assert env.get("ConfigMap", "planted") is None


def _widget_kind(env: TrustEnv) -> None:
    """A namespaced kind whose status the test can set (no status subresource)."""
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{WIDGET_GROUP}"},
        "spec": {
            "group": WIDGET_GROUP,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }
    env.kube.apply(crd, field_manager="test-admin")
    deadline = time.monotonic() + 30
    while True:
        env.kube.forget_kinds()
        with contextlib.suppress(UnknownKind):
            env.kube.resource_type(f"{WIDGET_GROUP}/v1", "Widget")
            return
        assert time.monotonic() < deadline, "the Widget kind was never served"
        time.sleep(0.5)


def _set_stalled(env: TrustEnv, status: str) -> None:
    condition = {"type": "Stalled", "status": status, "reason": "Blip", "message": "a moment"}
    env.kube.merge_patch(
        api_version=f"{WIDGET_GROUP}/v1",
        kind="Widget",
        name="w",
        namespace=env.app_ns,
        patch={"status": {"conditions": [condition]}},
    )


def test_a_drift_run_blip_does_not_roll_back(env: TrustEnv) -> None:
    _widget_kind(env)
    ns = env.app_ns
    rules = policy({"allow": {"namespaces": [ns]}, "rollback": True, "health": {"timeout": "20s"}})
    first = env.commit(
        {POLICY: rules, "manifests/app.yaml": documents(config_map("app", ns, v="1"))},
        message="Deliver app v1",
    )
    assert env.reconcile(first).phase is Phase.HEALTHY
    widget: dict[str, Any] = {
        "apiVersion": f"{WIDGET_GROUP}/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": ns},
        "spec": {"size": 1},
    }
    second = env.commit(
        {"manifests/app.yaml": documents(config_map("app", ns, v="2"), widget)},
        message="Deliver app v2 and a Widget",
    )
    assert env.reconcile(second).phase is Phase.HEALTHY

    _set_stalled(env, "True")  # the blip: Failed health, for a moment
    recover = threading.Timer(1.0, _set_stalled, args=(env, "False"))
    recover.start()
    try:
        outcome = env.reconcile(second)  # the drift run
    finally:
        recover.join()

    assert outcome.phase is Phase.HEALTHY, outcome.message
    assert env.phases(second) == ["Healthy"]
    live = env.get("ConfigMap", "app")
    assert live is not None
    assert live["data"] == {"v": "2"}


def test_a_verification_run_outside_the_allowance_is_refused(env: TrustEnv) -> None:
    ns = env.app_ns
    run = {
        "name": "smoke",
        "timeoutSeconds": 15,
        "template": {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"namespace": "default"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": []}}},
        },
    }
    rules = policy({"allow": {"namespaces": [ns]}, "verification": [run]})
    revision = env.commit(
        {POLICY: rules, "manifests/app.yaml": documents(config_map("app", ns, v="1"))},
        message="Deliver app with a run in default",
    )

    outcome = env.reconcile(revision)

    assert outcome.phase is Phase.FAILED
    (failed,) = env.note(revision)
    assert failed["phase"] == "Failed"
    assert failed["stage"] == "NotAllowed"
    assert (
        "verification run smoke: Job/default/smoke-*: namespace default is not allowed"
        in failed["message"]
    )
    assert env.get("ConfigMap", "app") is None  # nothing applied
    runs = env.kube.list(
        api_version="batch/v1",
        kind="Job",
        namespace="default",
        label_selector=f"orchestrator.dev/revision={revision}",
    )
    assert runs == []


def _secret_and_run(env: TrustEnv) -> tuple[str, str]:
    """A Secret with a unique value, and a revision whose run selects it; (value, revision)."""
    ns = env.app_ns
    secret_value = f"s3cret-{uuid.uuid4().hex}"
    env.kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": ns, "labels": {"app": "creds"}},
            "stringData": {"token": secret_value},
        },
        field_manager="test-admin",
    )
    run = {
        "name": "peek",
        "timeoutSeconds": 60,
        "selector": {"apiVersion": "v1", "kind": "Secret", "matchLabels": {"app": "creds"}},
        "outputs": {"token": "metadata.annotations.token"},
        "template": {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"namespace": ns, "annotations": {"token": "$(selected.data.token)$"}},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "peek", "image": "busybox"}],
                    }
                },
            },
        },
    }
    rules = policy({"allow": {"namespaces": [ns]}, "verification": [run]})
    revision = env.commit(
        {POLICY: rules, "manifests/app.yaml": documents(config_map("app", ns, v="1"))},
        message="Deliver app with a run that reads a Secret",
    )
    return secret_value, revision


def _nowhere(env: TrustEnv, secret_value: str, logs: str) -> None:
    in_git = env.everything_in_git()
    assert "orchestrator.note/v1" in in_git  # the notes are there to be searched
    for form in forms(secret_value):
        assert form not in in_git
        assert form not in logs


def test_a_secret_value_never_reaches_the_repository_or_the_logs(env: TrustEnv) -> None:
    secret_value, revision = _secret_and_run(env)

    with contextlib.contextmanager(capture_logs)() as logs:
        outcome = env.reconcile(revision)

    assert outcome.phase is Phase.FAILED
    assert outcome.stage is not None
    assert str(outcome.stage) == "NotAllowed"
    assert "verification run peek: its selector reads Secrets" in outcome.message
    _nowhere(env, secret_value, logs.text)


def test_a_run_the_ceiling_lets_read_a_secret_keeps_it_out_of_notes_and_logs(
    cluster: Cluster, tmp_path: Path
) -> None:
    env = TrustEnv(cluster=cluster, root=tmp_path, trust={"ceiling": {"secret_reads": True}})
    try:
        secret_value, revision = _secret_and_run(env)

        with contextlib.contextmanager(capture_logs)() as logs:
            outcome = env.reconcile(revision)

        assert outcome.phase is Phase.HEALTHY, outcome.message
        (healthy,) = env.note(revision)
        (run,) = healthy["runs"]
        assert run["outputs"] == {"token": "withheld: the run reads a Secret"}
        _nowhere(env, secret_value, logs.text)
    finally:
        env.close()


def test_an_older_revision_is_noted_superseded_and_pushes_nothing(env: TrustEnv) -> None:
    ns = env.app_ns
    rules = {"allow": {"namespaces": [ns]}, "health": {"timeout": "20s"}}
    both = {
        "apiVersion": "orchestrator.dev/v1alpha1",
        "kind": "PromotionPolicy",
        "environments": {
            ENV: {**rules, "promotion": {"to": ["production"], "mode": "auto"}},
            "production": rules,
        },
    }
    text = yaml.safe_dump(both)
    env.commit({POLICY: text}, message="Set up production", branch="production")
    older = env.commit(
        {POLICY: text, "manifests/app.yaml": documents(config_map("app", ns, v="A"))},
        message="Deliver A",
    )
    newer = env.commit(
        {"manifests/app.yaml": documents(config_map("app", ns, v="B"))}, message="Deliver B"
    )
    assert env.reconcile(newer).phase is Phase.PROMOTED
    promoted = env.bus.tip("production")
    # A replica that was behind, and never saw the notes saying newer's snapshot
    # carried older too: only the promotion on the target can stop it.
    git("update-ref", "-d", f"refs/notes/orchestrator/{ENV}", cwd=env.bus.bare)

    outcome = env.reconcile(older)

    assert outcome.phase is Phase.SUPERSEDED
    superseded = env.note(older)[-1]
    assert superseded["phase"] == "Superseded"
    assert superseded["promotions"][0]["supersededBy"] == newer
    assert env.bus.tip("production") == promoted
    assert "v: B" in env.bus.show("production", "manifests/app.yaml")
